"""The scheduler's index: approved changes by window start or end, and the triggers it wrote."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import Engine, Select, and_, delete, select, union
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from changecast.changes.models import ChangeStatus
from changecast.distribution.models import DistributionEvent, Trigger
from changecast.distribution.schedule import ScheduledChange, Window
from changecast.errors import UpstreamError
from changecast.index.tables import changes, scheduled_triggers
from changecast.layout import trigger_key

KEEP = timedelta(days=30)
"""How long a written scheduled trigger is remembered (its trigger object lives as long)."""
_EVENTS = frozenset(event.value for event in DistributionEvent)

_COLUMNS = (
    changes.c.change_id,
    changes.c.version,
    changes.c.status,
    changes.c.customer_codes,
    changes.c.created_at,
    changes.c.start_utc,
    changes.c.end_utc,
)


@contextmanager
def _errors(what: str) -> Iterator[None]:
    try:
        yield
    except SQLAlchemyError as exc:
        raise UpstreamError(
            f"the index cannot {what}: {type(exc).__name__}", retryable=True
        ) from None


class SqlScheduleIndex:
    """``ScheduleSource`` on the changes table: range scans on (status, start), (status, end)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def query(self, window: Window) -> Select[tuple[object, ...]]:
        approved = changes.c.status == ChangeStatus.APPROVED.value
        starts = select(*_COLUMNS).where(
            and_(approved, changes.c.start_utc.between(window.start_from, window.start_to))
        )
        ends = select(*_COLUMNS).where(
            and_(approved, changes.c.end_utc.between(window.end_from, window.end_to))
        )
        return select(union(starts, ends).subquery())

    def written(self, change_ids: Collection[str]) -> set[str]:
        """The keys of the scheduled triggers recorded for ``change_ids``."""
        if not change_ids:
            return set()
        table = scheduled_triggers
        query = select(table).where(table.c.change_id.in_(sorted(change_ids)))
        with _errors("read the scheduled triggers"), self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return {
            trigger_key(row.customer_code, row.change_id, row.version, row.event)
            for row in rows
            if row.event in _EVENTS
        }

    def record(self, triggers: Sequence[Trigger], *, at: datetime) -> None:
        """Insert a row per trigger (ignoring those present); drop rows older than ``KEEP``."""
        table = scheduled_triggers
        rows = [
            {
                "change_id": t.change_id,
                "version": t.version,
                "event": t.event.value,
                "customer_code": t.customer_code,
                "written_at": at,
            }
            for t in triggers
        ]
        if not rows:
            return
        insert = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        with _errors("record the scheduled triggers"), self.engine.begin() as conn:
            conn.execute(insert(table).on_conflict_do_nothing(), rows)
            conn.execute(delete(table).where(table.c.written_at < at - KEEP))

    def scheduled(self, window: Window) -> list[ScheduledChange]:
        """Every approved change with a start or end in ``window`` (each once)."""
        with _errors("list scheduled changes"), self.engine.connect() as connection:
            rows = connection.execute(self.query(window)).all()
        return [
            ScheduledChange(
                change_id=row.change_id,
                version=row.version,
                status=ChangeStatus(row.status),
                customer_codes=tuple(row.customer_codes),
                created_at=row.created_at,
                start_utc=row.start_utc,
                end_utc=row.end_utc,
            )
            for row in rows
            if row.start_utc is not None and row.end_utc is not None
        ]

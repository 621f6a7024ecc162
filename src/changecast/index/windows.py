"""SqlWindowIndex: the WindowIndex port on the index tables (overlaps, calendar feeds).

An overlap walks ``ix_changes_status_end`` (active changes ending after the window starts: the
present and the future, a few rows) and checks each one's customers by primary key.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import Engine, and_, select

from changecast.changes.models import Change, ChangeStatus, ChangeSummary
from changecast.changes.windows import ACTIVE
from changecast.index.fulltext import SUMMARY_COLUMNS
from changecast.index.rows import summary_of
from changecast.index.tables import change_customers, change_documents, change_versions, changes

MAX_FEED = 2_000


class SqlWindowIndex:
    """Window queries on an already-migrated index engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def overlapping(
        self,
        *,
        customers: Collection[str],
        start: datetime,
        end: datetime,
        statuses: Collection[ChangeStatus] = ACTIVE,
        exclude: str | None = None,
        limit: int = 50,
    ) -> list[ChangeSummary]:
        if not customers or not statuses:
            return []
        names = (
            select(change_customers.c.change_id)
            .where(
                change_customers.c.change_id == changes.c.change_id,
                change_customers.c.customer_code.in_(sorted(customers)),
            )
            .exists()
        )
        query = (
            select(*SUMMARY_COLUMNS)
            .where(
                and_(
                    changes.c.status.in_(sorted(s.value for s in statuses)),
                    changes.c.end_utc > start,
                    changes.c.start_utc < end,
                    names,
                )
            )
            .order_by(changes.c.start_utc, changes.c.change_id)
            .limit(limit)
        )
        if exclude is not None:
            query = query.where(changes.c.change_id != exclude)
        with self.engine.connect() as conn:
            return [summary_of(row) for row in conn.execute(query)]

    def windows_for(
        self, *, customer: str, statuses: Collection[ChangeStatus], ends_after: datetime
    ) -> list[Change]:
        rows = select(change_customers.c.row_id).where(change_customers.c.customer_code == customer)
        query = (
            select(change_documents.c.document)
            .join(changes, changes.c.change_id == change_documents.c.change_id)
            .where(
                and_(
                    changes.c.row_id.in_(rows),
                    changes.c.status.in_(sorted(s.value for s in statuses)),
                    changes.c.end_utc > ends_after,
                )
            )
            .order_by(changes.c.start_utc, changes.c.change_id)
            .limit(MAX_FEED)
        )
        with self.engine.connect() as conn:
            return [Change.model_validate(row.document) for row in conn.execute(query)]

    def version_document(self, change_id: str, version: int) -> Change | None:
        query = select(change_versions.c.document).where(
            change_versions.c.change_id == change_id, change_versions.c.version == version
        )
        with self.engine.connect() as conn:
            found = conn.execute(query).first()
        return None if found is None else Change.model_validate(found.document)

"""SqlDeliveryReadModel: the DeliveryReadModel port on the index's ``delivery_records`` table."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Insert, delete, func, select, text, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from changecast.delivery.models import (
    OUTCOME_COUNTS,
    CustomerRates,
    DeliveryRecord,
    ExecutionRecord,
    delivery_record,
)
from changecast.delivery.outcomes import RecipientMark, outcome_of_key
from changecast.distribution.models import DistributionEvent
from changecast.errors import UpstreamError
from changecast.index.tables import delivery_outcomes, delivery_records
from changecast.ports import Clock, SystemClock

KEY = ("change_id", "version", "event", "customer_code")
RUN_COLUMNS = (
    "status", "recipients", "sent", "already_sent", "filtered", "failed", "reason", "failures",
    "dead_lettered", "started_at", "finished_at", "updated_at",
)  # fmt: skip
"""What a worker's record sets; the outcome counts are the SES events worker's."""


OUTCOME_KEY = (*KEY, "channel", "recipient")
LOCK_DELIVERIES = text(
    "SELECT count(pg_advisory_xact_lock(hashtext(name))) "
    "FROM (SELECT name FROM unnest(CAST(:names AS text[])) AS name ORDER BY name) AS ordered"
)
"""PostgreSQL: a transaction lock per delivery (names sorted, so two writers never deadlock)."""


def _recipient(m: RecipientMark) -> tuple[Any, ...]:
    d = m.delivery
    return (d.change_id, d.version, d.event.value, d.customer, m.channel.value, m.recipient)


def _outcome_row(ident: tuple[Any, ...], outcome_key: str) -> dict[str, Any]:
    return {
        **dict(zip(OUTCOME_KEY, ident, strict=True)),
        "outcome": outcome_of_key(outcome_key).value,
        "outcome_key": outcome_key,
    }


def record_row(row: DeliveryRecord) -> dict[str, Any]:
    """The table row of one ``DeliveryRecord``."""
    data = row.model_dump(mode="python", exclude={"failures"})
    return {
        **data,
        "event": row.event.value,
        "status": row.status.value if row.status else None,
        "failures": [f.model_dump(mode="json", by_alias=True) for f in row.failures],
    }


def record_of(row: Any) -> DeliveryRecord:
    """One row as a ``DeliveryRecord``: one validation of its mapping (a grid reads ~120 rows)."""
    data = dict(row._mapping)
    data["status"] = data.get("status") or None
    data["failures"] = data.get("failures") or []
    return DeliveryRecord.model_validate(data)


@contextmanager
def translated(operation: str) -> Iterator[None]:
    """A database error becomes a retryable ``UpstreamError`` naming the operation."""
    try:
        yield
    except SQLAlchemyError as exc:
        raise UpstreamError(
            f"the delivery read model could not {operation}: {type(exc).__name__}",
            retryable=True,
        ) from exc


class SqlDeliveryReadModel:
    """Delivery rows in the index (SQLite or PostgreSQL); each method is one transaction."""

    def __init__(self, engine: Engine, *, clock: Clock | None = None) -> None:
        """Use ``engine`` (already migrated); ``clock`` dates outcome updates."""
        self.engine = engine
        self.dialect = engine.dialect.name
        self.clock = clock or SystemClock()

    def _insert(self) -> Any:
        return (postgresql if self.dialect == "postgresql" else sqlite).insert(delivery_records)

    def _upsert(self, columns: tuple[str, ...]) -> Insert:
        """INSERT ... ON CONFLICT (the key) DO UPDATE SET only ``columns``."""
        insert = self._insert()
        updates = {name: insert.excluded[name] for name in columns}
        return insert.on_conflict_do_update(index_elements=list(KEY), set_=updates)  # type: ignore[no-any-return]

    def record_execution(self, record: ExecutionRecord) -> None:
        with translated("store a delivery result"), self.engine.begin() as conn:
            conn.execute(self._upsert(RUN_COLUMNS), [record_row(delivery_record(record))])

    def record_outcomes(self, marks: Sequence[RecipientMark]) -> list[bool]:
        """Keep each recipient's greatest mark, then recount the deliveries touched.

        One transaction (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: a transaction lock per
        delivery, taken in order, so two batches of one delivery never count past each other).
        """
        if not marks:
            return []
        best: dict[tuple[Any, ...], str] = {}
        for m in marks:
            ident = _recipient(m)
            if m.mark.precedence_key > best.get(ident, ""):
                best[ident] = m.mark.precedence_key
        deliveries = sorted({ident[:4] for ident in best})
        engine = self.engine.execution_options(sqlite_immediate=True)
        with translated("store outcomes"), engine.begin() as conn:
            if self.dialect == "postgresql":  # one statement, the locks taken in key order
                names = ["delivery_outcomes|" + "|".join(map(str, key)) for key in deliveries]
                conn.execute(LOCK_DELIVERIES, {"names": names})
            kept = self._kept(conn, list(best))
            stored = {i: k for i, k in best.items() if k > kept.get(i, "")}
            if stored:
                conn.execute(self._keep_greatest(), [_outcome_row(i, k) for i, k in stored.items()])
            self._recount(conn, deliveries)
        return [
            _recipient(m) in stored and stored[_recipient(m)] == m.mark.precedence_key
            for m in marks
        ]

    def _kept(self, conn: Connection, idents: list[tuple[Any, ...]]) -> dict[tuple[Any, ...], str]:
        c = delivery_outcomes.c
        columns = (c.change_id, c.version, c.event, c.customer_code, c.channel, c.recipient)
        found: dict[tuple[Any, ...], str] = {}
        for first in range(0, len(idents), 200):
            chunk = idents[first : first + 200]
            statement = select(*columns, c.outcome_key).where(tuple_(*columns).in_(chunk))
            for row in conn.execute(statement):
                found[tuple(row[:6])] = str(row[6])
        return found

    def _keep_greatest(self) -> Insert:
        """INSERT ... ON CONFLICT DO UPDATE only where the new mark outranks the kept one."""
        insert = (postgresql if self.dialect == "postgresql" else sqlite).insert(delivery_outcomes)
        return insert.on_conflict_do_update(  # type: ignore[no-any-return]
            index_elements=list(OUTCOME_KEY),
            set_={"outcome": insert.excluded.outcome, "outcome_key": insert.excluded.outcome_key},
            where=insert.excluded.outcome_key > delivery_outcomes.c.outcome_key,
        )

    def _recount(
        self, conn: Connection, deliveries: Sequence[tuple[Any, ...]], *, touch: bool = True
    ) -> None:
        """Set the outcome counts of ``deliveries`` from their kept marks (rows made if new).

        ``touch``: date the rows now (an event arrived); else their ``updated_at`` stays.
        """
        c = delivery_outcomes.c
        key = (c.change_id, c.version, c.event, c.customer_code)
        counts: dict[tuple[Any, ...], dict[str, int]] = {d: {} for d in deliveries}
        for first in range(0, len(deliveries), 200):
            chunk = list(deliveries[first : first + 200])
            statement = (
                select(*key, c.outcome, func.count())
                .where(tuple_(*key).in_(chunk), c.outcome.in_(OUTCOME_COUNTS))
                .group_by(*key, c.outcome)
            )
            for row in conn.execute(statement):
                counts[tuple(row[:4])][str(row[4])] = int(row[5])
        now = self.clock.now()
        rows = [
            record_row(
                DeliveryRecord(
                    change_id=change_id,
                    version=version,
                    event=DistributionEvent(event),
                    customer_code=customer,
                    updated_at=now,
                    **{name: found.get(name, 0) for name in OUTCOME_COUNTS},
                )
            )
            for (change_id, version, event, customer), found in counts.items()
        ]
        if rows:
            columns = (*OUTCOME_COUNTS, "updated_at") if touch else OUTCOME_COUNTS
            conn.execute(self._upsert(columns), rows)

    def recount_outcomes(self) -> int:
        c = delivery_records.c
        with translated("recount outcomes"), self.engine.begin() as conn:
            keys = [
                tuple(row)
                for row in conn.execute(select(c.change_id, c.version, c.event, c.customer_code))
            ]
            self._recount(conn, keys, touch=False)
        return len(keys)

    def for_change(self, change_id: str) -> list[DeliveryRecord]:
        c = delivery_records.c
        statement = (
            select(delivery_records)
            .where(c.change_id == change_id)
            .order_by(c.version, c.customer_code, c.event)
        )
        with translated("read deliveries"), self.engine.connect() as conn:
            return [record_of(row) for row in conn.execute(statement)]

    def rates(self, *, since: datetime, customers: frozenset[str] | None) -> list[CustomerRates]:
        c = delivery_records.c
        statement = (
            select(
                c.customer_code,
                func.sum(c.sent + c.already_sent).label("sent"),
                func.sum(c.delivered).label("delivered"),
                func.sum(c.bounced).label("bounced"),
                func.sum(c.complained).label("complained"),
            )
            .where(c.updated_at >= since)
            .group_by(c.customer_code)
            .order_by(c.customer_code)
        )
        if customers is not None:
            statement = statement.where(c.customer_code.in_(sorted(customers)))
        with translated("read delivery rates"), self.engine.connect() as conn:
            return [
                CustomerRates(
                    customer_code=row.customer_code,
                    sent=int(row.sent or 0),
                    delivered=int(row.delivered or 0),
                    bounced=int(row.bounced or 0),
                    complained=int(row.complained or 0),
                )
                for row in conn.execute(statement)
            ]

    def clear(self) -> None:
        with translated("clear deliveries"), self.engine.begin() as conn:
            conn.execute(delete(delivery_records))

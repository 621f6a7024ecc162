"""SqlDeliveryReadModel: the DeliveryReadModel port on the index's ``delivery_records`` table."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Insert, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from changecast.delivery.models import (
    OUTCOME_COUNTS,
    CustomerRates,
    DeliveryRecord,
    ExecutionRecord,
    delivery_record,
)
from changecast.distribution.models import DistributionEvent
from changecast.errors import UpstreamError
from changecast.index.tables import delivery_records
from changecast.ports import Clock, SystemClock

KEY = ("change_id", "version", "event", "customer_code")
RUN_COLUMNS = (
    "status", "recipients", "sent", "already_sent", "filtered", "failed", "reason", "failures",
    "dead_lettered", "started_at", "finished_at", "updated_at",
)  # fmt: skip
"""What a worker's record sets; the outcome counts are the SES events worker's."""


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

    def set_outcome_counts(
        self,
        change_id: str,
        version: int,
        event: DistributionEvent,
        customer_code: str,
        counts: Mapping[str, int],
    ) -> None:
        outcomes = {name: max(int(counts.get(name, 0)), 0) for name in OUTCOME_COUNTS}
        row = DeliveryRecord(
            change_id=change_id,
            version=version,
            event=DistributionEvent(event),
            customer_code=customer_code,
            updated_at=self.clock.now(),
            **outcomes,
        )
        with translated("store outcome counts"), self.engine.begin() as conn:
            conn.execute(self._upsert((*OUTCOME_COUNTS, "updated_at")), [record_row(row)])

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

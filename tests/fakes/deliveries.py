"""An in-memory DeliveryReadModel, held to the SQL adapter by tests/contract."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from changecast.delivery.models import (
    OUTCOME_COUNTS,
    CustomerRates,
    DeliveryRecord,
    ExecutionRecord,
    delivery_record,
)
from changecast.distribution.models import DistributionEvent
from changecast.ports import Clock, SystemClock

Key = tuple[str, int, str, str]


class MemoryDeliveryReadModel:
    """Rows in a dict keyed (change, version, event, customer)."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or SystemClock()
        self.rows: dict[Key, DeliveryRecord] = {}

    def record_execution(self, record: ExecutionRecord) -> None:
        key = (record.change_id, record.version, record.event.value, record.customer_code)
        row = delivery_record(record)
        kept = self.rows.get(key)
        if kept is not None:
            row = row.model_copy(update={name: getattr(kept, name) for name in OUTCOME_COUNTS})
        self.rows[key] = row

    def set_outcome_counts(
        self,
        change_id: str,
        version: int,
        event: DistributionEvent,
        customer_code: str,
        counts: Mapping[str, int],
    ) -> None:
        key = (change_id, version, DistributionEvent(event).value, customer_code)
        outcomes: dict[str, object] = {
            name: max(int(counts.get(name, 0)), 0) for name in OUTCOME_COUNTS
        }
        outcomes["updated_at"] = self.clock.now()
        kept = self.rows.get(key)
        if kept is None:
            kept = DeliveryRecord(
                change_id=change_id,
                version=version,
                event=DistributionEvent(event),
                customer_code=customer_code,
                updated_at=self.clock.now(),
            )
        self.rows[key] = kept.model_copy(update=outcomes)

    def for_change(self, change_id: str) -> list[DeliveryRecord]:
        found = [row for key, row in self.rows.items() if key[0] == change_id]
        return sorted(found, key=lambda r: (r.version, r.customer_code, r.event.value))

    def rates(self, *, since: datetime, customers: frozenset[str] | None) -> list[CustomerRates]:
        totals: dict[str, CustomerRates] = {}
        for row in self.rows.values():
            if row.updated_at < since or (
                customers is not None and row.customer_code not in customers
            ):
                continue
            seen = totals.get(row.customer_code) or CustomerRates(customer_code=row.customer_code)
            totals[row.customer_code] = CustomerRates(
                customer_code=row.customer_code,
                sent=seen.sent + row.sent + row.already_sent,
                delivered=seen.delivered + row.delivered,
                bounced=seen.bounced + row.bounced,
                complained=seen.complained + row.complained,
            )
        return [totals[code] for code in sorted(totals)]

    def clear(self) -> None:
        self.rows.clear()

"""An in-memory DeliveryReadModel, held to the SQL adapter by tests/contract."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from changecast.delivery.models import (
    OUTCOME_COUNTS,
    CustomerRates,
    DeliveryRecord,
    ExecutionRecord,
    delivery_record,
)
from changecast.delivery.outcomes import RecipientMark, outcome_of_key
from changecast.distribution.models import DistributionEvent
from changecast.ports import Clock, SystemClock

Key = tuple[str, int, str, str]


def _key(m: RecipientMark) -> Key:
    d = m.delivery
    return (d.change_id, d.version, d.event.value, d.customer)


class MemoryDeliveryReadModel:
    """Rows in a dict keyed (change, version, event, customer)."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or SystemClock()
        self.rows: dict[Key, DeliveryRecord] = {}
        self.kept: dict[tuple[Any, ...], str] = {}
        """(change, version, event, customer, channel, recipient) -> kept precedence key."""

    def record_execution(self, record: ExecutionRecord) -> None:
        key = (record.change_id, record.version, record.event.value, record.customer_code)
        row = delivery_record(record)
        kept = self.rows.get(key)
        if kept is not None:
            row = row.model_copy(update={name: getattr(kept, name) for name in OUTCOME_COUNTS})
        self.rows[key] = row

    def record_outcomes(self, marks: Sequence[RecipientMark]) -> list[bool]:
        stored: dict[tuple[Any, ...], str] = {}
        for m in marks:
            d = m.delivery
            ident = (
                d.change_id,
                d.version,
                d.event.value,
                d.customer,
                m.channel.value,
                m.recipient,
            )
            key = m.mark.precedence_key
            if key > max(self.kept.get(ident, ""), stored.get(ident, "")):
                stored[ident] = key
        self.kept.update(stored)
        for delivery in sorted({ident[:4] for ident in stored} | {_key(m) for m in marks}):
            self._recount(delivery)
        return [
            stored.get((*_key(m), m.channel.value, m.recipient)) == m.mark.precedence_key
            for m in marks
        ]

    def _recount(self, key: Key, *, touch: bool = True) -> None:
        found = Counter(
            outcome_of_key(k).value for ident, k in self.kept.items() if ident[:4] == key
        )
        outcomes: dict[str, object] = {name: found[name] for name in OUTCOME_COUNTS}
        if touch:
            outcomes["updated_at"] = self.clock.now()
        kept = self.rows.get(key)
        if kept is None:
            kept = DeliveryRecord(
                change_id=key[0],
                version=key[1],
                event=DistributionEvent(key[2]),
                customer_code=key[3],
                updated_at=self.clock.now(),
            )
        self.rows[key] = kept.model_copy(update=outcomes)

    def recount_outcomes(self) -> int:
        for key in list(self.rows):
            self._recount(key, touch=False)
        return len(self.rows)

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

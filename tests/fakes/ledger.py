"""An in-memory delivery Ledger with DynamoDB's conditional-write semantics, and outcome marks."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from changecast.delivery.ledger import (
    Claim,
    ClaimOutcome,
    LedgerEntry,
    LedgerKey,
    LedgerState,
)
from changecast.delivery.outcomes import DeliveryOutcome, OutcomeMark, merge
from changecast.delivery.suppression import SuppressionRecord


@dataclass
class MemoryLedger:
    """Items keyed by (partition, sort); ``owners`` remembers who holds each claim."""

    items: dict[tuple[str, str], LedgerEntry] = field(default_factory=dict)
    owners: dict[tuple[str, str], str] = field(default_factory=dict)
    marks: dict[tuple[str, str], OutcomeMark] = field(default_factory=dict)
    """Each entry's own mark (the send loop's: sent, failed, suppressed)."""
    added: dict[tuple[str, str], set[tuple[str, OutcomeMark]]] = field(default_factory=dict)
    """The SES events' marks, with the message id each was written for (append-only)."""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def claim(
        self, key: LedgerKey, *, topic: str, owner: str, now: datetime, lease: timedelta
    ) -> Claim:
        ident = (key.partition, key.sort)
        with self._lock:
            current = self.items.get(ident)
            if current is not None:
                if current.state is LedgerState.SENT:
                    return Claim(ClaimOutcome.SENT, message_id=current.message_id)
                live = current.lease_until is not None and current.lease_until >= now
                if live and self.owners.get(ident) != owner:
                    return Claim(ClaimOutcome.BUSY, lease_until=current.lease_until)
            self.items[ident] = LedgerEntry(
                partition=key.partition,
                channel=key.channel,
                recipient=key.recipient,
                state=LedgerState.SENDING,
                topic=topic,
                attempts=(current.attempts if current else 0) + 1,
                created_at=current.created_at if current else now,
                updated_at=now,
                message_id=current.message_id if current else None,
                lease_until=now + lease,
            )
            self.marks.pop(ident, None)
            self.owners[ident] = owner
            return Claim(ClaimOutcome.CLAIMED)

    def _update(self, key: LedgerKey, **changes: object) -> None:
        ident = (key.partition, key.sort)
        with self._lock:
            self.items[ident] = replace(self.items[ident], **changes)  # type: ignore[arg-type]

    def _mark(self, key: LedgerKey, mark: OutcomeMark, *, keep: bool = False) -> None:
        ident = (key.partition, key.sort)
        with self._lock:
            if keep and ident in self.marks:
                return
            self.marks[ident] = mark

    def mark_sent(self, key: LedgerKey, *, message_id: str, now: datetime) -> None:
        self._mark(key, OutcomeMark(DeliveryOutcome.SENT, now), keep=True)
        self._update(
            key,
            state=LedgerState.SENT,
            message_id=message_id,
            updated_at=now,
            lease_until=None,
            reason=None,
        )

    def mark_failed(self, key: LedgerKey, *, reason: str, now: datetime) -> None:
        self._mark(key, OutcomeMark(DeliveryOutcome.FAILED, now, reason[:500]))
        self._update(key, state=LedgerState.FAILED, reason=reason, updated_at=now, lease_until=None)

    def mark_suppressed(self, key: LedgerKey, *, topic: str, reason: str, now: datetime) -> None:
        ident = (key.partition, key.sort)
        with self._lock:
            current = self.items.get(ident)
            if current is not None and current.state is LedgerState.SENT:
                return
            self.items[ident] = LedgerEntry(
                partition=key.partition,
                channel=key.channel,
                recipient=key.recipient,
                state=LedgerState.SUPPRESSED,
                topic=topic,
                attempts=current.attempts if current else 0,
                created_at=current.created_at if current else now,
                updated_at=now,
            )
            self.marks[ident] = OutcomeMark(DeliveryOutcome.SUPPRESSED, now, reason[:500])

    def find_by_message_id(self, message_id: str) -> LedgerEntry | None:
        with self._lock:
            found = [e for e in self.items.values() if e.message_id == message_id]
        return self._with_outcome(found[0]) if found else None

    def get(self, key: LedgerKey) -> LedgerEntry | None:
        with self._lock:
            found = self.items.get((key.partition, key.sort))
        return self._with_outcome(found) if found else None

    def sent_message_ids(self, keys: Sequence[LedgerKey]) -> dict[LedgerKey, str]:
        with self._lock:
            found = {key: self.items.get((key.partition, key.sort)) for key in keys}
        return {key: e.message_id for key, e in found.items() if e is not None and e.message_id}

    def record_outcomes(self, marks: Sequence[tuple[LedgerKey, str, OutcomeMark]]) -> None:
        with self._lock:
            for key, message_id, mark in marks:
                self.added.setdefault((key.partition, key.sort), set()).add((message_id, mark))

    def _with_outcome(self, entry: LedgerEntry) -> LedgerEntry:
        ident = (entry.partition, f"{entry.channel.value}#{entry.recipient}")
        mark = self.marks.get(ident)
        for message_id, added in self.added.get(ident, ()):
            if message_id == entry.message_id:
                mark = merge(mark, added)
        if mark is None:
            return entry
        return replace(
            entry,
            outcome=mark.outcome.value,
            outcome_detail=mark.detail or None,
            outcome_at=mark.at,
        )

    def entries_for(self, change_id: str, customer_code: str) -> list[LedgerEntry]:
        prefix = f"{customer_code}#{change_id}#"
        with self._lock:
            partitions = {p for p, _ in self.items if p.startswith(prefix)}
        return [e for p in sorted(partitions) for e in self.entries(p)]

    def release(self, key: LedgerKey, *, now: datetime) -> None:
        self._update(key, state=LedgerState.PENDING, updated_at=now, lease_until=None)

    def entries(self, partition: str) -> list[LedgerEntry]:
        with self._lock:
            found = sorted(
                (e for (p, _), e in self.items.items() if p == partition),
                key=lambda e: f"{e.channel.value}#{e.recipient}",
            )
            return [self._with_outcome(e) for e in found]


@dataclass
class MemorySuppressions:
    """An in-memory ``SuppressionStore``, keyed by customer and case-folded address."""

    records: dict[tuple[str, str], SuppressionRecord] = field(default_factory=dict)

    def suppress(self, record: SuppressionRecord) -> None:
        self.records[(record.customer, record.folded)] = record

    def unsuppress(self, customer: str, email: str) -> bool:
        return self.records.pop((customer, email.strip().lower()), None) is not None

    def suppressed(self, customer: str) -> list[SuppressionRecord]:
        return [r for (c, _), r in sorted(self.records.items()) if c == customer]

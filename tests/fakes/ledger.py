"""An in-memory delivery Ledger with DynamoDB's conditional-write semantics."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from changecast.delivery.ledger import (
    Claim,
    ClaimOutcome,
    LedgerEntry,
    LedgerKey,
    LedgerState,
)


@dataclass
class MemoryLedger:
    """Items keyed by (partition, sort); ``owners`` remembers who holds each claim."""

    items: dict[tuple[str, str], LedgerEntry] = field(default_factory=dict)
    owners: dict[tuple[str, str], str] = field(default_factory=dict)
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
            self.owners[ident] = owner
            return Claim(ClaimOutcome.CLAIMED)

    def _update(self, key: LedgerKey, **changes: object) -> None:
        ident = (key.partition, key.sort)
        with self._lock:
            self.items[ident] = replace(self.items[ident], **changes)  # type: ignore[arg-type]

    def mark_sent(self, key: LedgerKey, *, message_id: str, now: datetime) -> None:
        self._update(
            key,
            state=LedgerState.SENT,
            message_id=message_id,
            updated_at=now,
            lease_until=None,
            reason=None,
        )

    def mark_failed(self, key: LedgerKey, *, reason: str, now: datetime) -> None:
        self._update(key, state=LedgerState.FAILED, reason=reason, updated_at=now, lease_until=None)

    def release(self, key: LedgerKey, *, now: datetime) -> None:
        self._update(key, state=LedgerState.PENDING, updated_at=now, lease_until=None)

    def entries(self, partition: str) -> list[LedgerEntry]:
        with self._lock:
            return sorted(
                (e for (p, _), e in self.items.items() if p == partition),
                key=lambda e: f"{e.channel.value}#{e.recipient}",
            )

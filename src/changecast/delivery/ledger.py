"""The delivery ledger's records: one per (customer, change, version, event, channel, recipient).

A recipient is claimed (``sending``, with a lease), then marked ``sent`` with the SES message id
or ``failed`` with the reason. A redelivered trigger skips every recipient already ``sent``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from changecast.distribution.models import DistributionEvent


class Channel(StrEnum):
    """What a recipient is sent: the event's email, or its calendar invite."""

    EMAIL = "email"
    INVITE = "invite"


class LedgerState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SUPPRESSED = "suppressed"
    """Never sent: the address is on the customer's suppression list (a later run re-checks)."""


class ClaimOutcome(StrEnum):
    """The answer to a claim: go ahead, already done, or someone else holds a live lease."""

    CLAIMED = "claimed"
    SENT = "sent"
    BUSY = "busy"


@dataclass(frozen=True)
class DeliveryKey:
    """One trigger for one customer: the ledger's partition."""

    customer: str
    change_id: str
    version: int
    event: DistributionEvent

    @property
    def partition(self) -> str:
        return f"{self.customer}#{self.change_id}#v{self.version}#{self.event.value}"


@dataclass(frozen=True)
class LedgerKey:
    """One message to one recipient."""

    delivery: DeliveryKey
    channel: Channel
    recipient: str

    @property
    def partition(self) -> str:
        return self.delivery.partition

    @property
    def sort(self) -> str:
        return f"{self.channel.value}#{self.recipient}"


@dataclass(frozen=True)
class Claim:
    """The result of claiming a recipient; ``lease_until`` tells how long a BUSY one is held."""

    outcome: ClaimOutcome
    lease_until: datetime | None = None
    message_id: str | None = None


@dataclass(frozen=True)
class LedgerEntry:
    """One ledger item as stored."""

    partition: str
    channel: Channel
    recipient: str
    state: LedgerState
    topic: str
    attempts: int
    created_at: datetime
    updated_at: datetime
    message_id: str | None = None
    reason: str | None = None
    lease_until: datetime | None = None
    outcome: str | None = None
    """What really happened (``delivery.outcomes.DeliveryOutcome``): sent, delivered, bounced, …"""
    outcome_detail: str | None = None
    """Bounce type/subtype and diagnostic, complaint feedback type, or why it was suppressed."""
    outcome_at: datetime | None = None

    @property
    def ses_message_id(self) -> str | None:
        """The SES message id of a sent entry (stored as ``message_id``)."""
        return self.message_id

    @property
    def key(self) -> LedgerKey:
        """The entry's ledger key, parsed back from its partition."""
        customer, change_id, version, event = self.partition.split("#", 3)
        delivery = DeliveryKey(customer, change_id, int(version[1:]), DistributionEvent(event))
        return LedgerKey(delivery, self.channel, self.recipient)

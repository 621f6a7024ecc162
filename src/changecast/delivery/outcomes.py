"""What really happened to a sent message, and the precedence that makes replays converge.

An outcome mark is (outcome, detail, moment). Marks are totally ordered by ``precedence_key``:
outcome rank first (complained > bounced > rejected > delivered > delayed > sent), then the
moment, then the detail. The ledger keeps the greatest mark it has seen, so applying any set of
events in any order, any number of times, gives the same final state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from changecast.delivery.ledger import Channel, DeliveryKey

DETAIL_MAX = 500


class DeliveryOutcome(StrEnum):
    """A recipient's outcome: set by the send loop (sent, suppressed, failed) or by SES events."""

    SENT = "sent"
    DELAYED = "delayed"
    DELIVERED = "delivered"
    REJECTED = "rejected"
    BOUNCED = "bounced"
    COMPLAINED = "complained"
    SUPPRESSED = "suppressed"
    FAILED = "failed"


RANK: Mapping[DeliveryOutcome, int] = {
    DeliveryOutcome.SENT: 0,
    DeliveryOutcome.DELAYED: 1,
    DeliveryOutcome.DELIVERED: 2,
    DeliveryOutcome.REJECTED: 3,
    DeliveryOutcome.BOUNCED: 4,
    DeliveryOutcome.COMPLAINED: 5,
    DeliveryOutcome.SUPPRESSED: 6,
    DeliveryOutcome.FAILED: 7,
}
"""Higher wins. ``suppressed`` and ``failed`` are written by the send loop on messages SES never
accepted, so no event reaches them; they rank highest so that nothing would ever hide them."""


def _moment(at: datetime) -> str:
    """Fixed-width UTC text, so that string order is time order (DynamoDB compares strings)."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class OutcomeMark:
    """One outcome of one message, with its SES detail (bounce type/subtype, feedback type)."""

    outcome: DeliveryOutcome
    at: datetime
    detail: str = ""

    @property
    def precedence_key(self) -> str:
        """The mark's place in the total order; the ledger keeps the greatest."""
        return f"{RANK[self.outcome]:02d}|{_moment(self.at)}|{self.detail[:DETAIL_MAX]}"


@dataclass(frozen=True)
class RecipientMark:
    """One recipient's outcome mark in one delivery: what the read model keeps the greatest of."""

    delivery: DeliveryKey
    channel: Channel
    recipient: str
    mark: OutcomeMark


def outcome_of_key(precedence_key: str) -> DeliveryOutcome:
    """The outcome a precedence key ranks (its first field)."""
    rank = int(precedence_key.split("|", 1)[0])
    return next(outcome for outcome, r in RANK.items() if r == rank)


def merge(current: OutcomeMark | None, new: OutcomeMark) -> OutcomeMark:
    """The mark that stands after ``new`` arrives: the greater of the two (commutative)."""
    if current is None or new.precedence_key > current.precedence_key:
        return new
    return current

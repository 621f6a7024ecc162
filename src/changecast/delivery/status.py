"""Per-customer delivery status of a change, from the delivery read model alone (no S3).

Which events the current version owes its customers comes from the change's history (the same
rule the fan-out planner used to write the triggers); what happened comes from the read model.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from changecast.changes.models import Change
from changecast.delivery.ledger import LedgerEntry
from changecast.delivery.models import DeliveryRecord
from changecast.delivery.ports import DeliveryReadModel, Ledger
from changecast.distribution.models import DistributionEvent
from changecast.distribution.planner import events_for


class DeliveryState(StrEnum):
    """A customer's (or an event's) state; ``pending`` until the worker has reported."""

    PENDING = "pending"
    DELIVERED = "delivered"
    PARTIAL = "partial"
    FAILED = "failed"


_WORST = [DeliveryState.FAILED, DeliveryState.PARTIAL, DeliveryState.PENDING]
EVENT_ORDER = list(DistributionEvent)


class _Out(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)


class EventDelivery(_Out):
    """One event of one version for one customer; ``record`` is None while nothing is known.

    A failed delivery carries its ``reason``; ``deadLettered`` says its trigger waits in the DLQ
    (``changecast worker redrive`` moves it back; it resumes where it stopped).
    """

    event: DistributionEvent
    version: int
    state: DeliveryState
    record: DeliveryRecord | None = None
    reason: str | None = None
    dead_lettered: bool = False


def event_delivery(
    event: DistributionEvent, version: int, record: DeliveryRecord | None
) -> EventDelivery:
    """Pure: an event's state from its row (none yet, or outcomes only: pending)."""
    if record is None or record.status is None:
        return EventDelivery(
            event=event, version=version, state=DeliveryState.PENDING, record=record
        )
    return EventDelivery(
        event=event,
        version=version,
        state=DeliveryState(record.status.value),
        record=record,
        reason=record.reason,
        dead_lettered=record.dead_lettered,
    )


class RecipientOutcome(_Out):
    """One recipient of one message of the current version: what happened, why, and when."""

    address: str
    event: DistributionEvent
    channel: str
    outcome: str
    """sent, delivered, bounced, complained, rejected, delayed, suppressed, failed; or
    sending/pending while the worker holds it."""
    reason: str | None = None
    at: datetime


class CustomerDelivery(_Out):
    """One customer: the state of the change's current version, and every result.

    ``recipients`` (the drill-down, from the ledger) only when asked for.
    """

    customer_code: str
    state: DeliveryState
    current: list[EventDelivery] = Field(default_factory=list)
    history: list[DeliveryRecord] = Field(default_factory=list)
    recipients: list[RecipientOutcome] | None = None


class ChangeDeliveries(_Out):
    change_id: str
    version: int
    customers: list[CustomerDelivery]


def expected_events(change: Change) -> set[DistributionEvent]:
    """Pure: the events the actions on the current version fanned out (from its history)."""
    return {
        event
        for entry in change.history
        if entry.version == change.version
        for event in events_for(entry.action, current=change)
    }


def customer_delivery(
    change: Change,
    customer: str,
    rows: Iterable[DeliveryRecord],
    expected: set[DistributionEvent],
) -> CustomerDelivery:
    """Pure: one customer's state from the read model's rows and the events the version owes."""
    mine = [row for row in rows if row.customer_code == customer]
    return _customer_delivery(change, customer, mine, expected)


def _customer_delivery(
    change: Change, customer: str, mine: list[DeliveryRecord], expected: set[DistributionEvent]
) -> CustomerDelivery:
    history = sorted(
        (row for row in mine if row.status is not None),
        key=lambda r: (r.version, r.finished_at or r.updated_at),
        reverse=True,
    )
    recorded = {r.event: r for r in mine if r.version == change.version}
    current = [
        event_delivery(event, change.version, recorded.get(event))
        for event in sorted(set(recorded) | expected, key=EVENT_ORDER.index)
    ]
    states = {item.state for item in current}
    state = next((s for s in _WORST if s in states), DeliveryState.DELIVERED)
    if not current:
        state = DeliveryState.PENDING
    return CustomerDelivery(customer_code=customer, state=state, current=current, history=history)


def change_deliveries(change: Change, *, read_model: DeliveryReadModel) -> ChangeDeliveries:
    """Every customer of the change (those without a result yet are ``pending``): one query."""
    by_customer: dict[str, list[DeliveryRecord]] = {}
    for row in read_model.for_change(change.change_id):
        by_customer.setdefault(row.customer_code, []).append(row)
    expected = expected_events(change)
    return ChangeDeliveries(
        change_id=change.change_id,
        version=change.version,
        customers=[
            _customer_delivery(change, code, by_customer.get(code, []), expected)
            for code in change.customer_codes
        ],
    )


def recipient_outcome(entry: LedgerEntry) -> RecipientOutcome:
    """Pure: a ledger entry as the drill-down shows it (the SES outcome when one is known)."""
    return RecipientOutcome(
        address=entry.recipient,
        event=entry.key.delivery.event,
        channel=entry.channel.value,
        outcome=entry.outcome or entry.state.value,
        reason=entry.outcome_detail or entry.reason,
        at=entry.outcome_at or entry.updated_at,
    )


def recipient_outcomes(entries: Iterable[LedgerEntry], version: int) -> list[RecipientOutcome]:
    """Pure: the entries of ``version``, newest event first, then by address and channel."""
    found = [recipient_outcome(e) for e in entries if e.key.delivery.version == version]
    return sorted(found, key=lambda r: (-EVENT_ORDER.index(r.event), r.address, r.channel))


def with_recipients(deliveries: ChangeDeliveries, *, ledger: Ledger) -> ChangeDeliveries:
    """Each customer with its current version's recipients (one ledger query per customer)."""
    customers = [
        customer.model_copy(
            update={
                "recipients": recipient_outcomes(
                    ledger.entries_for(deliveries.change_id, customer.customer_code),
                    deliveries.version,
                )
            }
        )
        for customer in deliveries.customers
    ]
    return deliveries.model_copy(update={"customers": customers})

"""Per-customer delivery status of a change, from the delivery read model alone (no S3).

Which events the current version owes its customers comes from the change's history (the same
rule the fan-out planner used to write the triggers); what happened comes from the read model.
A customer's state is decided by the events that are still current (``delivery.currency``, the
rule every send keeps): an event the change has moved past (an approval request once its
version was approved, a reminder after a cancel) is shown ``superseded`` with what superseded
it, and no longer decides the state. So after a fix and a redelivery, a customer whose every
current event is delivered shows ``delivered``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from changecast.changes.models import Change
from changecast.delivery.currency import supersession
from changecast.delivery.ledger import LedgerEntry
from changecast.delivery.models import DeliveryRecord, ExecutionStatus
from changecast.delivery.ports import DeliveryReadModel, Ledger
from changecast.distribution.models import DistributionEvent
from changecast.distribution.planner import events_for


class DeliveryState(StrEnum):
    """A customer's (or an event's) state; ``pending`` until the worker has reported.

    ``superseded``: the change has moved past the event; it sends nothing more and does not
    count in the customer's state (an event delivered before it was superseded stays
    ``delivered``, with ``supersededBy`` set).
    """

    PENDING = "pending"
    DELIVERED = "delivered"
    PARTIAL = "partial"
    FAILED = "failed"
    SUPERSEDED = "superseded"


_WORST = [DeliveryState.FAILED, DeliveryState.PARTIAL, DeliveryState.PENDING]
EVENT_ORDER = list(DistributionEvent)


class _Out(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)


class EventDelivery(_Out):
    """One event of one version for one customer; ``record`` is None while nothing is known.

    A failed delivery carries its ``reason``; ``deadLettered`` says its trigger waits in the DLQ
    (``changecast worker redrive`` moves it back; it resumes where it stopped).
    ``supersededBy`` says what superseded an event that is no longer current.
    """

    event: DistributionEvent
    version: int
    state: DeliveryState
    record: DeliveryRecord | None = None
    reason: str | None = None
    dead_lettered: bool = False
    superseded_by: str | None = None


def event_delivery(
    event: DistributionEvent,
    version: int,
    record: DeliveryRecord | None,
    superseded_by: str | None = None,
) -> EventDelivery:
    """Pure: an event's state from its row (none yet, or outcomes only: pending).

    With ``superseded_by`` (the change has moved past it), an event not delivered is
    ``superseded``; the worker's own ``superseded`` record is too.
    """
    if record is not None and record.status is ExecutionStatus.SUPERSEDED:
        superseded_by = superseded_by or (record.reason or "").removeprefix("superseded by ")
    delivered = record is not None and record.status is ExecutionStatus.DELIVERED
    if superseded_by is not None and not delivered:
        return EventDelivery(
            event=event,
            version=version,
            state=DeliveryState.SUPERSEDED,
            record=record,
            superseded_by=superseded_by,
        )
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
        superseded_by=superseded_by,
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
    """One customer: its state, the events that decide it, and every result.

    ``current`` lists the current version's events, and an older version's events that still
    stand (an approval while an edit awaits approval) or that ended undelivered and superseded
    (so that a failure the change moved past is shown as such). ``state`` is the worst state of
    those not superseded. ``recipients`` (the drill-down, from the ledger) only when asked for.
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
    *,
    now: datetime | None = None,
) -> CustomerDelivery:
    """Pure: one customer's state from the read model's rows and the events the version owes."""
    mine = [row for row in rows if row.customer_code == customer]
    return _customer_delivery(change, customer, mine, expected, now)


def _shown(item: EventDelivery, change: Change) -> bool:
    """The current version's events; an older one while it stands or when it ended unsent."""
    if item.version == change.version:
        return True
    return item.superseded_by is None or item.state is DeliveryState.SUPERSEDED


def _customer_delivery(
    change: Change,
    customer: str,
    mine: list[DeliveryRecord],
    expected: set[DistributionEvent],
    now: datetime | None,
) -> CustomerDelivery:
    history = sorted(
        (row for row in mine if row.status is not None),
        key=lambda r: (r.version, r.finished_at or r.updated_at),
        reverse=True,
    )
    recorded: dict[tuple[int, DistributionEvent], DeliveryRecord | None]
    recorded = {(r.version, r.event): r for r in mine}
    recorded |= {(change.version, e): recorded.get((change.version, e)) for e in expected}
    items = []
    for version, event in sorted(recorded, key=lambda k: (k[0], EVENT_ORDER.index(k[1]))):
        found = supersession(event, version, change, now=now)
        item = event_delivery(
            event, version, recorded[(version, event)], None if found is None else found.by
        )
        if _shown(item, change):
            items.append(item)
    return CustomerDelivery(
        customer_code=customer, state=_state_of(items), current=items, history=history
    )


def _state_of(items: list[EventDelivery]) -> DeliveryState:
    """The worst state of the events still current; with none current, what became of them."""
    if not items:
        return DeliveryState.PENDING
    deciding = {item.state for item in items if item.superseded_by is None}
    if not deciding:
        everything = {item.state for item in items}
        if DeliveryState.SUPERSEDED in everything:
            return DeliveryState.SUPERSEDED
        return DeliveryState.DELIVERED
    return next((s for s in _WORST if s in deciding), DeliveryState.DELIVERED)


def change_deliveries(
    change: Change, *, read_model: DeliveryReadModel, now: datetime | None = None
) -> ChangeDeliveries:
    """Every customer of the change (those without a result yet are ``pending``): one query.

    ``now`` also supersedes the reminders and window-open notices whose moment has passed.
    """
    by_customer: dict[str, list[DeliveryRecord]] = {}
    for row in read_model.for_change(change.change_id):
        by_customer.setdefault(row.customer_code, []).append(row)
    expected = expected_events(change)
    return ChangeDeliveries(
        change_id=change.change_id,
        version=change.version,
        customers=[
            _customer_delivery(change, code, by_customer.get(code, []), expected, now)
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

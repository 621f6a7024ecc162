"""Per-customer delivery status of a change, from ``executions/`` and the pending triggers."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from changecast.changes.models import Change
from changecast.delivery.models import DistributionEvent, ExecutionDocument, ExecutionRecord
from changecast.distribution.models import TRIGGER_KEY
from changecast.errors import NotFoundError
from changecast.ports import ObjectStore


class DeliveryState(StrEnum):
    """A customer's (or an event's) state; ``pending`` until the worker has reported."""

    PENDING = "pending"
    DELIVERED = "delivered"
    PARTIAL = "partial"
    FAILED = "failed"


_WORST = [DeliveryState.FAILED, DeliveryState.PARTIAL, DeliveryState.PENDING]


class _Out(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)


class EventDelivery(_Out):
    """One event of one version for one customer; ``record`` is None while pending.

    A failed delivery carries its ``reason``; ``deadLettered`` says its trigger waits in the DLQ
    (``changecast worker redrive`` moves it back; it resumes where it stopped).
    """

    event: DistributionEvent
    version: int
    state: DeliveryState
    record: ExecutionRecord | None = None
    reason: str | None = None
    dead_lettered: bool = False


def event_delivery(
    event: DistributionEvent, version: int, record: ExecutionRecord | None
) -> EventDelivery:
    """Pure: an event's state from its record (none yet: pending)."""
    if record is None:
        return EventDelivery(event=event, version=version, state=DeliveryState.PENDING)
    state = DeliveryState(record.status.value)
    reasons = [f.reason for f in record.failures if f.recipient is None]
    if not reasons and state is not DeliveryState.DELIVERED:
        reasons = [f.reason for f in record.failures[:1]]
    return EventDelivery(
        event=event,
        version=version,
        state=state,
        record=record,
        reason="; ".join(reasons) or None,
        dead_lettered=record.dead_lettered,
    )


class CustomerDelivery(_Out):
    """One customer: the state of the change's current version, and every result."""

    customer_code: str
    state: DeliveryState
    current: list[EventDelivery] = Field(default_factory=list)
    history: list[ExecutionRecord] = Field(default_factory=list)


class ChangeDeliveries(_Out):
    change_id: str
    version: int
    customers: list[CustomerDelivery]


def read_executions(store: ObjectStore, change_id: str) -> list[ExecutionDocument]:
    """Every ``executions/{id}/v*/{code}.json`` document of a change."""
    found = []
    for key in store.list_keys(f"executions/{change_id}/"):
        try:
            found.append(ExecutionDocument.model_validate_json(store.get(key).body))
        except NotFoundError:
            continue
    return found


def pending_events(store: ObjectStore, change: Change, customer: str) -> set[DistributionEvent]:
    """The events with a trigger for the change's current version (triggers expire in 30 days)."""
    prefix = f"customers/{customer}/{change.change_id}-v{change.version}-"
    events = set()
    for key in store.list_keys(prefix):
        match = TRIGGER_KEY.match(key)
        if match and int(match.group(3)) == change.version:
            try:
                events.add(DistributionEvent(match.group(4)))
            except ValueError:
                continue
    return events


def customer_delivery(
    change: Change,
    customer: str,
    documents: Iterable[ExecutionDocument],
    triggered: set[DistributionEvent],
) -> CustomerDelivery:
    """Pure: one customer's state from its documents and the current version's triggers."""
    mine = [doc for doc in documents if doc.customer_code == customer]
    history = sorted(
        (record for doc in mine for record in doc.events.values()),
        key=lambda r: (r.version, r.finished_at),
        reverse=True,
    )
    recorded = {r.event: r for r in history if r.version == change.version}
    current = [
        event_delivery(event, change.version, recorded.get(event))
        for event in sorted(set(recorded) | triggered, key=list(DistributionEvent).index)
    ]
    states = {item.state for item in current}
    state = next((s for s in _WORST if s in states), DeliveryState.DELIVERED)
    if not current:
        state = DeliveryState.PENDING
    return CustomerDelivery(customer_code=customer, state=state, current=current, history=history)


def change_deliveries(change: Change, *, store: ObjectStore) -> ChangeDeliveries:
    """Every customer of the change (those without a result yet are ``pending``)."""
    documents = read_executions(store, change.change_id)
    return ChangeDeliveries(
        change_id=change.change_id,
        version=change.version,
        customers=[
            customer_delivery(change, code, documents, pending_events(store, change, code))
            for code in change.customer_codes
        ],
    )

"""Redelivery of one customer's triggers of a change: which to queue again, and queuing them.

``redeliver`` re-queues every trigger of the change (all versions) whose delivery to the
customer is not complete and that the change has not since superseded, in workflow order
(version, then event). The message goes to that customer's queue only, and the ledger makes the
worker send only to the recipients not yet sent.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import quote_plus

from changecast import layout
from changecast.changes.models import Change, ChangeStatus
from changecast.delivery.models import ExecutionStatus
from changecast.delivery.results import read_executions
from changecast.distribution.models import SCHEDULED, DistributionEvent
from changecast.errors import InvalidInputError, NotFoundError
from changecast.layout import TRIGGER_KEY
from changecast.ports import ObjectStore


class MessageQueue(Protocol):
    """A customer's trigger queue (``aws.sqs.SqsQueue``)."""

    def send(self, body: str, *, attributes: dict[str, str] | None = None) -> str: ...


EVENT_ORDER = list(DistributionEvent)
APPROVALS = frozenset({DistributionEvent.APPROVED, DistributionEvent.UPDATED})
TERMINAL = frozenset({ChangeStatus.COMPLETED, ChangeStatus.CANCELLED, ChangeStatus.REJECTED})
ENDINGS = frozenset(
    {DistributionEvent.WITHDRAWN, DistributionEvent.COMPLETED, DistributionEvent.CANCELLED}
)


@dataclass(frozen=True, order=True)
class TriggerRef:
    """One trigger of a change for one customer, ordered as the workflow wrote them."""

    version: int
    order: int
    event: DistributionEvent
    key: str


def trigger_refs(keys: Iterable[str], *, customer: str, change_id: str) -> list[TriggerRef]:
    """The trigger keys of ``change_id`` for ``customer`` (others are ignored), in order."""
    found = []
    for key in keys:
        match = TRIGGER_KEY.match(key)
        if match is None or match.group(1) != customer or match.group(2) != change_id:
            continue
        try:
            event = DistributionEvent(match.group(4))
        except ValueError:
            continue
        version = int(match.group(3))
        found.append(TriggerRef(version, EVENT_ORDER.index(event), event, key))
    return sorted(found)


def superseded(ref: TriggerRef, change: Change, refs: list[TriggerRef]) -> bool:
    """Pure: whether the change has moved past this trigger (by version and event, not time).

    - An approval request (``submitted`` of version n) stands only while version n is the
      current version and awaits approval.
    - An approval (``approved``/``updated`` of n) stands until a later version is approved, or
      the change ends (withdrawn, completed, cancelled, rejected).
    - An ending (withdrawn, completed, cancelled) is the last word and always stands.
    - A scheduled notice (reminder, window open or closed) stands like an approval; a nudge
      stands only while the change is still approved (not completed or cancelled).
    """
    if ref.event is DistributionEvent.NUDGE:
        return change.status is not ChangeStatus.APPROVED
    if ref.event is DistributionEvent.SUBMITTED:
        return not (ref.version == change.version and change.status is ChangeStatus.SUBMITTED)
    if ref.event in APPROVALS or ref.event in SCHEDULED:
        approved = {h.version for h in change.history if h.status is ChangeStatus.APPROVED}
        approved |= {r.version for r in refs if r.event in APPROVALS}
        ended = change.status in TERMINAL or any(r.event in ENDINGS for r in refs)
        return ended or any(version > ref.version for version in approved)
    return False


def redelivery_plan(
    change: Change, refs: list[TriggerRef], complete: set[tuple[int, DistributionEvent]]
) -> list[str]:
    """Pure: the keys to queue again, in order: not complete, and not superseded."""
    return [
        ref.key
        for ref in sorted(refs)
        if (ref.version, ref.event) not in complete and not superseded(ref, change, refs)
    ]


def pending_triggers(store: ObjectStore, change: Change, customer: str) -> list[TriggerRef]:
    """Every stored trigger of the change for ``customer`` (all versions; 30 days' worth)."""
    keys = store.list_keys(layout.trigger_prefix(customer, change.change_id))
    return trigger_refs(keys, customer=customer, change_id=change.change_id)


def delivered_events(
    store: ObjectStore, change: Change, customer: str
) -> set[tuple[int, DistributionEvent]]:
    """(version, event) pairs with a ``delivered`` execution record for ``customer``."""
    return {
        (record.version, record.event)
        for document in read_executions(store, change.change_id)
        if document.customer_code == customer
        for record in document.events.values()
        if record.status is ExecutionStatus.DELIVERED
    }


def redeliver(
    *,
    store: ObjectStore,
    queues: Callable[[str], MessageQueue],
    bucket: str,
    change: Change,
    customer: str,
) -> list[str]:
    """Queue each undelivered, current trigger of ``customer`` again; returns the keys queued.

    Nothing is queued when every delivery is complete (an empty list).
    """
    if customer not in change.customer_codes:
        raise InvalidInputError(
            f"change {change.change_id} is not for customer {customer!r}", field="customer"
        )
    refs = pending_triggers(store, change, customer)
    if not refs:
        raise NotFoundError(
            f"no trigger of change {change.change_id} for {customer} to redeliver "
            "(triggers expire after 30 days; use retry to write them again)",
            customer=customer,
        )
    keys = redelivery_plan(change, refs, delivered_events(store, change, customer))
    queue = queues(customer)
    for key in keys:
        queue.send(s3_event_body(bucket, key))
    return keys


def s3_event_body(bucket: str, key: str, *, event_name: str = "ObjectCreated:Put") -> str:
    """An S3-event-shaped body for ``key`` (used to re-drive one customer)."""
    record = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "eventName": event_name,
        "s3": {"bucket": {"name": bucket}, "object": {"key": quote_plus(key, safe="/")}},
    }
    return json.dumps({"Records": [record]})

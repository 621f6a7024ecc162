"""Redelivery of one customer's triggers of a change: which to queue again, and queuing them.

``redeliver`` re-queues every trigger of the change (all versions) whose delivery to the
customer is not complete and that is still current (``delivery.currency``: the one rule every
send keeps), in workflow order (version, then event). The message goes to that customer's
queue only, and the ledger makes the worker send only to the recipients not yet sent.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from urllib.parse import quote_plus

from changecast import layout
from changecast.changes.models import Change
from changecast.delivery.currency import supersession
from changecast.delivery.models import ExecutionStatus
from changecast.delivery.results import read_executions
from changecast.distribution.models import DistributionEvent
from changecast.errors import InvalidInputError, NotFoundError
from changecast.layout import TRIGGER_KEY
from changecast.ports import ObjectStore


class MessageQueue(Protocol):
    """A customer's trigger queue (``aws.sqs.SqsQueue``)."""

    def send(self, body: str, *, attributes: dict[str, str] | None = None) -> str: ...


EVENT_ORDER = list(DistributionEvent)


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


def redelivery_plan(
    change: Change,
    refs: list[TriggerRef],
    complete: set[tuple[int, DistributionEvent]],
    *,
    now: datetime | None = None,
) -> list[str]:
    """Pure: the keys to queue again, in order: not complete, and still current.

    Current by the one rule every send keeps (``delivery.currency.supersession``, against
    ``change``, the change's current document); the worker checks it again before sending.
    """
    return [
        ref.key
        for ref in sorted(refs)
        if (ref.version, ref.event) not in complete
        and supersession(ref.event, ref.version, change, now=now) is None
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
    now: datetime | None = None,
) -> list[str]:
    """Queue each undelivered, current trigger of ``customer`` again; returns the keys queued.

    Nothing is queued when every delivery is complete (an empty list). ``now`` also leaves out
    the reminders and window-open notices whose moment has passed.
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
    keys = redelivery_plan(change, refs, delivered_events(store, change, customer), now=now)
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

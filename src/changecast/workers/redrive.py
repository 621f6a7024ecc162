"""Re-drive one customer: its undelivered triggers of a change, or its dead-lettered messages.

``redeliver`` re-queues every trigger of the change (all versions) whose delivery to the
customer is not complete and that the change has not since superseded, in workflow order
(version, then event). ``redrive_dead_letters`` moves the customer's DLQ back to its queue.
Either way the message goes to that customer's queue only, and the ledger makes the worker
send only to the recipients not yet sent.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from changecast.aws.sqs import QueueMessage, SqsQueue
from changecast.bootstrap import Runtime
from changecast.changes.models import Change, ChangeStatus
from changecast.delivery.models import DistributionEvent, ExecutionStatus
from changecast.delivery.status import read_executions
from changecast.distribution.models import TRIGGER_KEY
from changecast.errors import InvalidInputError, MalformedInputError, NotFoundError
from changecast.workers.messages import parse_message, s3_event_body
from changecast.workers.wiring import queue_urls

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
    """
    if ref.event is DistributionEvent.SUBMITTED:
        return not (ref.version == change.version and change.status is ChangeStatus.SUBMITTED)
    if ref.event in APPROVALS:
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


def pending_triggers(runtime: Runtime, change: Change, customer: str) -> list[TriggerRef]:
    """Every stored trigger of the change for ``customer`` (all versions; 30 days' worth)."""
    keys = runtime.store.list_keys(f"customers/{customer}/{change.change_id}-v")
    return trigger_refs(keys, customer=customer, change_id=change.change_id)


def delivered_events(
    runtime: Runtime, change: Change, customer: str
) -> set[tuple[int, DistributionEvent]]:
    """(version, event) pairs with a ``delivered`` execution record for ``customer``."""
    return {
        (record.version, record.event)
        for document in read_executions(runtime.store, change.change_id)
        if document.customer_code == customer
        for record in document.events.values()
        if record.status is ExecutionStatus.DELIVERED
    }


def customer_queue(runtime: Runtime, customer: str) -> tuple[SqsQueue, SqsQueue | None]:
    """The customer's queue and its DLQ (from the redrive policy when not known locally)."""
    url, dlq = queue_urls(runtime, customer)
    sqs = runtime.aws.client("sqs")
    queue = SqsQueue(sqs, url)
    dlq = dlq or queue.dead_letter_url()
    return queue, SqsQueue(sqs, dlq) if dlq else None


def redeliver(*, runtime: Runtime, change: Change, customer: str) -> list[str]:
    """Queue each undelivered, current trigger of ``customer`` again; returns the keys queued.

    Nothing is queued when every delivery is complete (an empty list).
    """
    if customer not in change.customer_codes:
        raise InvalidInputError(
            f"change {change.change_id} is not for customer {customer!r}", field="customer"
        )
    refs = pending_triggers(runtime, change, customer)
    if not refs:
        raise NotFoundError(
            f"no trigger of change {change.change_id} for {customer} to redeliver "
            "(triggers expire after 30 days; use retry to write them again)",
            customer=customer,
        )
    keys = redelivery_plan(change, refs, delivered_events(runtime, change, customer))
    queue, _ = customer_queue(runtime, customer)
    bucket = runtime.config.s3_config.bucket_name
    for key in keys:
        queue.send(s3_event_body(bucket, key))
    return keys


@dataclass(frozen=True)
class DeadLetter:
    """One message of a customer's DLQ, as ``worker redrive --dry-run`` lists it."""

    message_id: str
    triggers: tuple[str, ...]
    reason: str
    receives: int


def _dead_letter(message: QueueMessage) -> DeadLetter:
    try:
        triggers = tuple(ref.key for ref in parse_message(message.body).objects)
    except MalformedInputError:
        triggers = ()
    receives = message.attributes.get("changecast-receives", "")
    return DeadLetter(
        message_id=message.message_id,
        triggers=triggers,
        reason=message.attributes.get("changecast-reason", "")
        or "moved by SQS after maxReceiveCount receives",
        receives=int(receives) if receives.isdigit() else message.receive_count,
    )


HOLD_SECONDS = 60
"""A listed DLQ message stays hidden this long, so that one pass sees each message once."""


def redrive_dead_letters(
    *, runtime: Runtime, customer: str, dry_run: bool = False
) -> list[DeadLetter]:
    """Move (or, with ``dry_run``, only list) every message of ``customer``'s DLQ to its queue.

    A moved message is sent to the queue, then deleted from the DLQ; a listed one is made
    visible again at once.
    """
    runtime.directory.get(customer)
    queue, dead_letters = customer_queue(runtime, customer)
    if dead_letters is None:
        raise InvalidInputError(f"the queue of {customer} has no dead-letter queue")
    held: list[QueueMessage] = []
    while True:
        batch = dead_letters.receive(wait_seconds=0, max_messages=10, visibility=HOLD_SECONDS)
        if not batch:
            break
        for message in batch:
            if not dry_run:
                queue.send(message.body)
                dead_letters.delete(message.receipt)
            held.append(message)
    if dry_run:
        for message in held:
            dead_letters.set_visibility(message.receipt, 0)
    return [_dead_letter(message) for message in held]

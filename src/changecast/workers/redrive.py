"""Re-drive one customer's dead-lettered messages back to its queue (``worker redrive``).

The ledger makes the worker send only to the recipients not yet sent. Redelivering a change's
undelivered triggers is ``delivery.redelivery``.
"""

from __future__ import annotations

from dataclasses import dataclass

from changecast.aws.sqs import QueueMessage
from changecast.bootstrap import Runtime
from changecast.errors import InvalidInputError, MalformedInputError
from changecast.workers.messages import parse_message


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
    queue, dead_letters = runtime.customer_queue(customer)
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

"""Re-drive one customer's dead-lettered messages back to its queue (``worker redrive``).

Only the messages of one change (``change``), or every message (``change`` None: the CLI asks
for ``--all`` or a confirmation first); the others stay in the DLQ untouched. Each trigger is
checked with the rule every send keeps (``delivery.currency``): the listing says which would
send and which are superseded (the worker records those ``superseded`` and sends nothing). The
ledger makes the worker send only to the recipients not yet sent. Redelivering a change's
undelivered triggers is ``delivery.redelivery``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

import structlog
from pydantic import ValidationError

from changecast.aws.sqs import QueueMessage
from changecast.bootstrap import Runtime
from changecast.changes.models import Change
from changecast.delivery.currency import latest_change, supersession, window_of
from changecast.delivery.service import load_version
from changecast.distribution.models import DistributionEvent, Trigger
from changecast.errors import ChangecastError, InvalidInputError, MalformedInputError
from changecast.layout import TRIGGER_KEY
from changecast.ports import ObjectStore
from changecast.workers.messages import ParsedMessage, parse_message

log = structlog.get_logger()


@dataclass(frozen=True)
class TriggerCheck:
    """One trigger of a dead letter: its change, and whether it would send now."""

    trigger: str
    change_id: str | None = None
    superseded_by: str | None = None
    problem: str | None = None
    """Why it cannot be judged (the trigger or its version is gone); it would fail again."""

    @property
    def verdict(self) -> str:
        if self.problem is not None:
            return f"fails: {self.problem}"
        if self.superseded_by is not None:
            return f"superseded by {self.superseded_by}"
        return "would send"


@dataclass(frozen=True)
class DeadLetter:
    """One message of a customer's DLQ, as ``worker redrive`` lists it."""

    message_id: str
    triggers: tuple[str, ...]
    reason: str
    receives: int
    checks: tuple[TriggerCheck, ...] = ()
    selected: bool = True
    """Whether the message is one of those asked for (the change's, or every one)."""
    moved: bool = False

    @property
    def change_ids(self) -> frozenset[str]:
        return frozenset(c.change_id for c in self.checks if c.change_id is not None)


def _judged(event: DistributionEvent, change: Change, latest: Change | None, now: datetime) -> str:
    found = supersession(event, change.version, latest or change, now=now, window=window_of(change))
    return "" if found is None else found.by


def check_trigger(store: ObjectStore, key: str, now: datetime) -> TriggerCheck:
    """Whether the trigger at ``key`` would send now (the rule the worker applies)."""
    match = TRIGGER_KEY.match(key)
    change_id = match.group(2) if match else None
    try:
        trigger = Trigger.model_validate_json(store.get(key).body)
        change = load_version(trigger, store=store)
        by = _judged(trigger.event, change, latest_change(store, change.change_id), now)
    except (ChangecastError, ValidationError) as exc:
        problem = exc.message if isinstance(exc, ChangecastError) else "not a trigger"
        return TriggerCheck(key, change_id, problem=problem[:300])
    return TriggerCheck(key, change_id, superseded_by=by or None)


def checks_of(parsed: ParsedMessage, store: ObjectStore, now: datetime) -> list[TriggerCheck]:
    """Each trigger the message names (an embedded change is judged by its latest pointer)."""
    found = [check_trigger(store, ref.key, now) for ref in parsed.objects]
    if parsed.embedded is not None:
        request = parsed.embedded
        change = request.change
        label = f"embedded {change.change_id} v{change.version} {request.event.value}"
        try:
            by = _judged(request.event, change, latest_change(store, change.change_id), now)
        except ChangecastError as exc:
            found.append(TriggerCheck(label, change.change_id, problem=exc.message[:300]))
        else:
            found.append(TriggerCheck(label, change.change_id, superseded_by=by or None))
    return found


def _dead_letter(
    message: QueueMessage, *, store: ObjectStore, now: datetime, change: str | None
) -> DeadLetter:
    try:
        parsed = parse_message(message.body)
    except MalformedInputError:
        parsed = ParsedMessage()
    checks = tuple(checks_of(parsed, store, now))
    receives = message.attributes.get("changecast-receives", "")
    ids = {c.change_id for c in checks}
    return DeadLetter(
        message_id=message.message_id,
        triggers=tuple(ref.key for ref in parsed.objects),
        reason=message.attributes.get("changecast-reason", "")
        or "moved by SQS after maxReceiveCount receives",
        receives=int(receives)
        if receives.isascii() and receives.isdigit()
        else message.receive_count,
        checks=checks,
        selected=change is None or (bool(checks) and ids == {change}),
    )


HOLD_SECONDS = 60
"""A listed DLQ message stays hidden this long, so that one pass sees each message once."""


def redrive_dead_letters(
    *, runtime: Runtime, customer: str, change: str | None = None, dry_run: bool = False
) -> list[DeadLetter]:
    """Move (or, with ``dry_run``, only list) ``customer``'s dead letters of ``change``.

    ``change`` None means every message (``worker redrive`` asks for ``--all`` or a
    confirmation first); with a change, a message that names another change, several changes
    or none stays. A moved message is sent to the queue, then deleted from the DLQ; every other
    one is made visible again at once, untouched. Returns every message seen, ``selected`` and
    ``moved`` set.
    """
    runtime.directory.get(customer)
    queue, dead_letters = runtime.customer_queue(customer)
    if dead_letters is None:
        raise InvalidInputError(f"the queue of {customer} has no dead-letter queue")
    now = runtime.clock.now()
    seen: list[DeadLetter] = []
    keep: list[QueueMessage] = []
    listed: set[str] = set()
    while True:
        batch = dead_letters.receive(wait_seconds=0, max_messages=10, visibility=HOLD_SECONDS)
        if not batch:
            break
        for message in batch:
            if message.message_id in listed:  # seen again after its hold: keep it, once
                keep.append(message)
                continue
            listed.add(message.message_id)
            letter = _dead_letter(message, store=runtime.store, now=now, change=change)
            if letter.selected and not dry_run:
                queue.send(message.body)
                dead_letters.delete(message.receipt)
                letter = replace(letter, moved=True)
            else:
                keep.append(message)
            seen.append(letter)
    for message in keep:
        try:
            dead_letters.set_visibility(message.receipt, 0)
        except ChangecastError as exc:  # a stale receipt: the message reappears after its hold
            log.info("dead_letter_left_hidden", message_id=message.message_id, error=exc.message)
    return seen

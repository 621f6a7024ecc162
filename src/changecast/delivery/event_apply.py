"""Apply one SES event: find its ledger entry, keep the winning outcome, suppress, recount.

Every step is idempotent, so a duplicate, a replay or a retry after a partial failure is
harmless: the ledger's outcome marks are append-only puts (an entry shows the greatest,
``outcomes.merge``), the read model keeps each recipient's greatest mark and recounts from
them, and the suppression is a put.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import structlog

from changecast.contacts.models import SuppressionReason
from changecast.contacts.ports import SuppressionPort
from changecast.delivery.ledger import LedgerEntry, LedgerKey, LedgerState
from changecast.delivery.outcomes import DeliveryOutcome, OutcomeMark, RecipientMark, merge
from changecast.delivery.ports import DeliveryReadModel, OutcomeLedger, SuppressionStore
from changecast.delivery.ses_events import EventSource, SesEvent, SesEventType, source_customer
from changecast.delivery.suppression import SuppressionRecord
from changecast.errors import ChangecastError, InvalidInputError, UpstreamError

log = structlog.get_logger()


class EventNotMatchedError(UpstreamError):
    """An event for one of our messages whose ledger entry is not there yet: retry it."""

    def __init__(self, message: str, **context: object) -> None:
        super().__init__(message, retryable=True, **context)


class UnknownMessageError(InvalidInputError):
    """An event for a message we did not send (no ledger entry and no changecast tags)."""


class ForeignEventError(InvalidInputError):
    """The event contradicts its ledger entry: another account, or tags naming another delivery."""


@dataclass
class EventDeps:
    """What applying an event needs; ``account_list(code)`` opens that customer's SES list."""

    ledger: OutcomeLedger
    suppressions: SuppressionStore
    read_model: DeliveryReadModel | None = None
    account_list: Callable[[str], SuppressionPort] | None = None
    accounts: Mapping[str, str] = field(default_factory=dict)
    """Customer code -> AWS account id; an event from another account is refused."""
    sources: Sequence[EventSource] = ()
    """Each customer's events topic: an event applies only to messages of the customer whose
    topic it came through (``source_customer``); without a match it is dead-lettered. Empty:
    each customer of ``accounts`` owns the ``*-ses-events`` topics of its account."""


@dataclass(frozen=True)
class Applied:
    """What one event did."""

    event_type: SesEventType
    message_id: str
    customer: str | None = None
    recipient: str | None = None
    outcome: str | None = None
    """The greatest outcome the event's batch recorded for its entry (None: nothing recorded)."""
    changed: bool = False
    suppressed: bool = False
    note: str = ""
    entry: LedgerEntry | None = None
    """The ledger entry the event was matched to (its key and message id)."""


def suppression_reason(event: SesEvent) -> SuppressionReason | None:
    """A permanent bounce or a complaint suppresses the address; nothing else does."""
    if event.permanent_bounce:
        return SuppressionReason.BOUNCE
    if event.event_type is SesEventType.COMPLAINT:
        return SuppressionReason.COMPLAINT
    return None


def apply_event(event: SesEvent, *, deps: EventDeps) -> Applied:
    """Record ``event``; raises ``EventNotMatchedError`` (retry) or an ``InvalidInputError``.

    A batch of one (``apply_batch``).
    """
    result = apply_batch([event], deps=deps).results[0]
    if isinstance(result, ChangecastError):
        raise result
    return result


@dataclass
class BatchResult:
    """Per event (in order): what it did, or the error that refused it (retry or dead letter)."""

    results: list[Applied | ChangecastError]


@dataclass
class _Target:
    entry: LedgerEntry
    best: OutcomeMark | None = None
    events: list[int] = field(default_factory=list)


def apply_batch(events: Sequence[SesEvent], *, deps: EventDeps) -> BatchResult:
    """Apply many events with few calls; the final state equals applying them one by one.

    0. Source: the customer whose events topic the event came through (``source_customer``);
       an event without one is refused (dead-lettered), whatever its body says.
    1. Match: one ``sent_message_ids`` read for every tagged event (its tags and destination
       name the entry); the ``by-message-id`` index only for the others.
    2. Per entry, the greatest mark of the batch is added to the ledger (``record_outcomes``:
       append-only puts, 25 a call). A Send event adds nothing: the send loop recorded ``sent``.
    3. The read model keeps each recipient's greatest mark and recounts the deliveries touched,
       in one transaction; it says which marks became their recipient's outcome (``changed``).
    4. A permanent bounce or a complaint suppresses its address.

    Every step is idempotent, so a failed step retries its events and the replay converges.
    """
    results: list[Applied | ChangecastError | None] = [None] * len(events)
    marks = [event.mark() for event in events]
    origin: dict[int, str] = {}
    sources = deps.sources or [EventSource(c, a, None) for c, a in deps.accounts.items()]
    for i, event in enumerate(events):
        try:
            origin[i] = source_customer(event, sources)
        except ChangecastError as exc:
            results[i] = exc
    tagged = {
        i: key for i, e in enumerate(events) if i in origin and (key := _tagged_key(e)) is not None
    }
    sent: dict[LedgerKey, str] = {}
    if tagged:
        try:
            sent = deps.ledger.sent_message_ids(list(dict.fromkeys(tagged.values())))
        except ChangecastError as exc:
            for i in tagged:
                results[i] = exc
    targets: dict[LedgerKey, _Target] = {}
    for i, event in enumerate(events):
        mark = marks[i]
        if results[i] is not None:
            continue
        if mark is None:  # Subscription: SES updated the contact itself; nothing to record
            log.info("ses_event_noted", event_type=event.event_type.value, detail=event.detail)
            results[i] = Applied(event.event_type, event.message_id, note="no outcome to record")
            continue
        try:
            entry = _matched(event, origin[i], tagged.get(i), sent, deps)
        except ChangecastError as exc:
            results[i] = exc
            continue
        target = targets.setdefault(entry.key, _Target(entry))
        target.events.append(i)
        if mark.outcome is not DeliveryOutcome.SENT:  # the send loop recorded ``sent`` already
            target.best = merge(target.best, mark)
    _write(events, marks, targets, results, deps)
    return BatchResult([r for r in results if r is not None])


def _matched(
    event: SesEvent,
    origin: str,
    key: LedgerKey | None,
    sent: Mapping[LedgerKey, str],
    deps: EventDeps,
) -> LedgerEntry:
    """The event's entry: by its tags when the entry there holds its message, else by id.

    Either way checked against the customer whose topic it came through (``_checked``).
    """
    if key is not None and sent.get(key) == event.message_id:
        return _checked(event, origin, _entry_of(key, event.message_id), deps)
    return _checked(event, origin, deps.ledger.find_by_message_id(event.message_id), deps)


def _entry_of(key: LedgerKey, message_id: str) -> LedgerEntry:
    """The sent entry at ``key`` as far as matching needs it (its key and message id)."""
    never = datetime.fromtimestamp(0, UTC)
    return LedgerEntry(
        partition=key.partition,
        channel=key.channel,
        recipient=key.recipient,
        state=LedgerState.SENT,
        topic="",
        attempts=1,
        created_at=never,
        updated_at=never,
        message_id=message_id,
    )


def _write(
    events: Sequence[SesEvent],
    marks: Sequence[OutcomeMark | None],
    targets: Mapping[LedgerKey, _Target],
    results: list[Applied | ChangecastError | None],
    deps: EventDeps,
) -> None:
    """Add each entry's greatest mark to the ledger, then the read model; then suppress."""
    writes = [
        (key, t.entry.message_id or "", t.best) for key, t in targets.items() if t.best is not None
    ]
    changed: dict[LedgerKey, bool] = {}
    error: ChangecastError | None = None
    try:
        deps.ledger.record_outcomes(writes)
        if deps.read_model is not None and writes:
            kept = deps.read_model.record_outcomes(
                [RecipientMark(k.delivery, k.channel, k.recipient, m) for k, _, m in writes]
            )
            changed = dict(zip([w[0] for w in writes], kept, strict=True))
    except ChangecastError as exc:  # those events are retried; a replay is harmless
        error = exc
    for key, target in targets.items():
        for i in target.events:
            won = changed.get(key, False) and marks[i] == target.best
            mark = marks[i]
            if error is not None and mark is not None and mark.outcome is not DeliveryOutcome.SENT:
                results[i] = error  # its mark may not be stored: retry it
                continue
            try:
                results[i] = _applied(events[i], target, won, deps)
            except ChangecastError as exc:  # our suppression record: retry that event
                results[i] = exc


def _applied(event: SesEvent, target: _Target, changed: bool, deps: EventDeps) -> Applied:
    entry = target.entry
    reason = suppression_reason(event)
    note = _suppress(event, entry, reason, deps) if reason is not None else ""
    log.info(
        "ses_event_applied",
        event_type=event.event_type.value,
        customer=entry.key.delivery.customer,
        changed=changed,
    )
    return Applied(
        event.event_type,
        event.message_id,
        customer=entry.key.delivery.customer,
        recipient=entry.recipient,
        outcome=(
            target.best or event.mark() or OutcomeMark(DeliveryOutcome.SENT, event.at)
        ).outcome.value,
        changed=changed,
        suppressed=reason is not None,
        note=note,
        entry=entry,
    )


def _checked(
    event: SesEvent, origin: str, entry: LedgerEntry | None, deps: EventDeps
) -> LedgerEntry:
    """The sent entry the event is about, checked against the event's origin, account and tags.

    ``origin`` is the customer whose events topic the event came through: the entry must be
    that customer's. ``mail.sendingAccountId``, when present, must agree too (it is never what
    proves the account).

    The tags and the destination name the entry's key (``sent_message_ids``, once a batch); an
    event without them, or whose entry holds another message id, is looked up by message id.
    """
    if entry is None:
        if event.ours:
            raise EventNotMatchedError(
                f"no ledger entry yet for SES message {event.message_id}",
                message_id=event.message_id,
            )
        raise UnknownMessageError(
            f"SES message {event.message_id} is not ours (no ledger entry, no changecast tags)",
            message_id=event.message_id,
        )
    delivery = entry.key.delivery
    if delivery.customer != origin:
        raise ForeignEventError(
            f"SES message {event.message_id} is customer {delivery.customer}'s, but the event "
            f"came through customer {origin}'s events topic ({event.topic_arn})",
            message_id=event.message_id,
        )
    expected = deps.accounts.get(delivery.customer)
    if expected and event.sending_account and event.sending_account != expected:
        raise ForeignEventError(
            f"SES message {event.message_id} is customer {delivery.customer}'s, but the event "
            f"came from account {event.sending_account}",
            message_id=event.message_id,
        )
    tagged = event.tagged_delivery()
    if tagged is not None and (tagged[0] != delivery or tagged[1] is not entry.channel):
        raise ForeignEventError(
            f"the tags of SES message {event.message_id} name another delivery than its ledger "
            f"entry ({entry.partition})",
            message_id=event.message_id,
        )
    return entry


def _tagged_key(event: SesEvent) -> LedgerKey | None:
    tagged = event.tagged_delivery()
    if tagged is None or len(event.destination) != 1 or event.mark() is None:
        return None
    return LedgerKey(tagged[0], tagged[1], event.destination[0])


def _suppress(
    event: SesEvent, entry: LedgerEntry, reason: SuppressionReason, deps: EventDeps
) -> str:
    """Our record, and the customer's account-level SES list (saying why not when it fails)."""
    customer = entry.key.delivery.customer
    listed = "SES account list: not configured"
    if deps.account_list is not None:
        try:
            deps.account_list(customer).put_suppressed(entry.recipient, reason)
            listed = "SES account list: added"
        except (ChangecastError, NotImplementedError) as exc:
            text = exc.message if isinstance(exc, ChangecastError) else str(exc)
            listed = f"SES account list: not added: {text}"[:300]
            log.warning("account_suppression_failed", customer=customer, error=listed)
    record = SuppressionRecord(
        customer=customer,
        email=entry.recipient,
        reason=reason,
        at=event.at,
        detail=f"{event.event_type.value} {event.detail}; {listed}"[:1_000],
        message_id=event.message_id,
    )
    deps.suppressions.suppress(record)
    return listed

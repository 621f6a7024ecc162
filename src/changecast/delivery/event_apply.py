"""Apply one SES event: find its ledger entry, keep the winning outcome, suppress, recount.

Every step is idempotent, so a duplicate, a replay or a retry after a partial failure is
harmless: the outcome write is a conditional "keep the greatest mark" (``outcomes.merge``), the
suppression is a put, and the read model's counts are recomputed from the ledger each time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import structlog

from changecast.contacts.models import SuppressionReason
from changecast.contacts.ports import SuppressionPort
from changecast.delivery.ledger import LedgerEntry, LedgerKey, LedgerState
from changecast.delivery.outcomes import DeliveryOutcome, OutcomeMark, merge, outcome_counts
from changecast.delivery.ports import DeliveryReadModel, OutcomeLedger, SuppressionStore
from changecast.delivery.ses_events import SesEvent, SesEventType
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


@dataclass(frozen=True)
class Applied:
    """What one event did."""

    event_type: SesEventType
    message_id: str
    customer: str | None = None
    recipient: str | None = None
    outcome: str | None = None
    """The entry's outcome after the event (None for an event that records none)."""
    changed: bool = False
    suppressed: bool = False
    note: str = ""
    entry: LedgerEntry | None = None
    """The ledger entry (before the event); its partition is the delivery to recount."""


def suppression_reason(event: SesEvent) -> SuppressionReason | None:
    """A permanent bounce or a complaint suppresses the address; nothing else does."""
    if event.permanent_bounce:
        return SuppressionReason.BOUNCE
    if event.event_type is SesEventType.COMPLAINT:
        return SuppressionReason.COMPLAINT
    return None


def apply_event(event: SesEvent, *, deps: EventDeps, recount: bool = True) -> Applied:
    """Record ``event``; raises ``EventNotMatchedError`` (retry) or an ``InvalidInputError``.

    A batch of one (``apply_batch``). ``recount=False`` leaves the read model to the caller
    (``recount_delivery`` once per delivery of a batch, instead of once per event).
    """
    batch = apply_batch([event], deps=deps)
    result = batch.results[0]
    if isinstance(result, ChangecastError):
        raise result
    if recount and result.entry is not None:
        return replace(result, outcome=recount_delivery(result.entry, deps))
    return result


@dataclass
class BatchResult:
    """Per event (in order): what it did, or the error that refused it; and what to recount."""

    results: list[Applied | ChangecastError]
    recount: dict[str, tuple[LedgerEntry, list[int]]]
    """Delivery partition -> (one of its entries, the indexes of the batch's events on it)."""


@dataclass
class _Target:
    entry: LedgerEntry
    stored: OutcomeMark | None
    best: OutcomeMark | None = None
    events: list[int] = field(default_factory=list)


def stored_mark(entry: LedgerEntry) -> OutcomeMark | None:
    """The entry's current mark, as ``record_outcome`` compares it (``outcome_key``)."""
    if entry.outcome is None or entry.outcome_at is None:
        return None
    return OutcomeMark(DeliveryOutcome(entry.outcome), entry.outcome_at, entry.outcome_detail or "")


def apply_batch(events: Sequence[SesEvent], *, deps: EventDeps) -> BatchResult:
    """Apply many events with few ledger calls; the final ledger equals applying them one by one.

    One ``get_many`` for every tagged entry (the ``by-message-id`` index only for the others),
    then, per entry, the greatest mark of the batch is written (conditional ``record_outcome``)
    only if it outranks the stored one: a duplicate, an outranked event, or a Send on an entry
    that already has an outcome writes nothing. A delivery is to be recounted when an event
    changed it or re-applied its stored mark (a retry after a failed recount).
    """
    results: list[Applied | ChangecastError | None] = [None] * len(events)
    marks = [event.mark() for event in events]
    tagged_keys = {i: key for i, e in enumerate(events) if (key := _tagged_key(e)) is not None}
    found: dict[LedgerKey, LedgerEntry] = {}
    if tagged_keys:
        try:
            found = deps.ledger.get_many(list(dict.fromkeys(tagged_keys.values())))
        except ChangecastError as exc:
            for i in tagged_keys:
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
            entry = found.get(tagged_keys[i]) if i in tagged_keys else None
            if entry is not None and entry.message_id != event.message_id:
                entry = None
            entry = _checked(event, entry or deps.ledger.find_by_message_id(event.message_id), deps)
        except ChangecastError as exc:
            results[i] = exc
            continue
        target = targets.setdefault(entry.key, _Target(entry, stored_mark(entry)))
        target.events.append(i)
        if mark.outcome is DeliveryOutcome.SENT and entry.outcome is not None:
            continue  # the send loop recorded ``sent`` already
        target.best = merge(target.best, mark)
    return BatchResult(*_write(events, marks, targets, results, deps))


def _write(
    events: Sequence[SesEvent],
    marks: Sequence[OutcomeMark | None],
    targets: Mapping[LedgerKey, _Target],
    results: list[Applied | ChangecastError | None],
    deps: EventDeps,
) -> tuple[list[Applied | ChangecastError], dict[str, tuple[LedgerEntry, list[int]]]]:
    """Write each entry's winning mark when it outranks the stored one; suppress; recounts."""
    writes = [
        (key, t.entry.message_id or "", t.best)
        for key, t in targets.items()
        if t.best is not None
        and (t.stored is None or t.best.precedence_key > t.stored.precedence_key)
    ]
    changed: dict[LedgerKey, bool] = {}
    error: ChangecastError | None = None
    try:
        changed = dict(
            zip([w[0] for w in writes], deps.ledger.record_outcomes(writes), strict=True)
        )
    except ChangecastError as exc:  # those events are retried; a replay is harmless
        error = exc
    recount: dict[str, tuple[LedgerEntry, list[int]]] = {}
    for key, target in targets.items():
        stored = target.stored
        failed = error is not None and any(w[0] == key for w in writes)
        replayed = stored is not None and any(
            (m := marks[i]) is not None and m.precedence_key == stored.precedence_key
            for i in target.events
        )
        if not failed and (changed.get(key, False) or replayed):
            recount.setdefault(key.partition, (target.entry, []))[1].extend(target.events)
        for i in target.events:
            won = changed.get(key, False) and marks[i] == target.best
            try:
                results[i] = error if failed and error else _applied(events[i], target, won, deps)
            except ChangecastError as exc:  # our suppression record: retry that event
                results[i] = exc
    return [r for r in results if r is not None], recount


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
        changed=changed,
        suppressed=reason is not None,
        note=note,
        entry=entry,
    )


def _checked(event: SesEvent, entry: LedgerEntry | None, deps: EventDeps) -> LedgerEntry:
    """The sent entry the event is about, checked against the event's account and tags.

    The tags and the destination name the entry's key (read in one ``get_many`` per batch); an
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


def recount_delivery(entry: LedgerEntry, deps: EventDeps) -> str | None:
    """Recompute the entry's delivery's outcome counts from the ledger; return its outcome."""
    entries = deps.ledger.outcomes(entry.partition)
    mine = next((e.outcome for e in entries if e.key == entry.key), entry.outcome)
    if deps.read_model is None:
        return mine
    counts = outcome_counts(
        (DeliveryOutcome(e.outcome) for e in entries if e.outcome),
        sent=sum(1 for e in entries if e.state is LedgerState.SENT),
        failed=sum(1 for e in entries if e.state is LedgerState.FAILED),
    )
    delivery = entry.key.delivery
    deps.read_model.set_outcome_counts(
        delivery.change_id, delivery.version, delivery.event, delivery.customer, counts
    )
    return mine

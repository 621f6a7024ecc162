"""Deliver one trigger for one customer: load the version, route, render once, send per recipient.

Effects go through ports (object store, the customer's SES, the ledger); the decisions are in
``router``, ``render`` and ``audience``. Errors keep their kinds; the worker maps them once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog

from changecast.changes.archive import decode
from changecast.changes.models import Change
from changecast.changes.windows import WindowIndex
from changecast.changes.workflow import replaced_version
from changecast.customers.models import CustomerMapping, EmailConfig
from changecast.delivery.approval_extras import approval_extras
from changecast.delivery.audience import (
    Audience,
    audience,
    authors_audience,
    without_suppressed,
)
from changecast.delivery.ledger import Channel, DeliveryKey, LedgerKey
from changecast.delivery.metrics import record_counts, record_duration
from changecast.delivery.mime import invite_message
from changecast.delivery.models import ExecutionRecord
from changecast.delivery.pacing import Backoff, TokenBucket, choose_rate
from changecast.delivery.personal import RecipientLinks, personalize
from changecast.delivery.ports import (
    ContactSource,
    DeliveryReadModel,
    Ledger,
    MailPort,
    RecipientsBusyError,
    SesAccount,
    SuppressionStore,
)
from changecast.delivery.render import RenderedEmail, TemplateSource, render_email
from changecast.delivery.results import failed_record, run_record, save_record
from changecast.delivery.router import Topics
from changecast.delivery.sending import Sender, StopSignal
from changecast.delivery.ses_events import message_tags
from changecast.delivery.suppression import suppressed_set
from changecast.distribution.models import SHOWS_REPLACED, DistributionEvent, Trigger
from changecast.errors import InvalidInputError, NotFoundError
from changecast.ids import ChangeId
from changecast.layout import VERSION_KEY, version_key
from changecast.metrics.ports import Metrics, NullMetrics
from changecast.ports import Clock, ObjectStore

log = structlog.get_logger()


@dataclass(frozen=True)
class DeliveryRequest:
    """What to deliver: a change version, the event, and the trigger's flags."""

    change: Change
    event: DistributionEvent
    was_approved: bool
    invite_sent: bool
    replaces_version: int | None = None
    reason: str | None = None
    """The trigger's cancel or withdrawal reason; None: read from the change's history."""
    completed_at: datetime | None = None
    """When a completion happened (its trigger's time); None: read from the change's history."""

    @classmethod
    def for_change(cls, change: Change, event: DistributionEvent) -> DeliveryRequest:
        approved = change.was_approved()
        return cls(change=change, event=event, was_approved=approved, invite_sent=approved)


@dataclass
class DeliveryDeps:
    """One customer's delivery ports and settings; long-lived (the bucket paces every trigger)."""

    customer: CustomerMapping
    email_config: EmailConfig
    store: ObjectStore
    ses: SesAccount
    ledger: Ledger
    clock: Clock
    owner: str
    templates: TemplateSource | None = None
    topics: Topics = field(default_factory=Topics)
    read_model: DeliveryReadModel | None = None
    lease: timedelta = timedelta(seconds=60)
    backoff: Backoff = field(default_factory=Backoff)
    sleep: Callable[[float], None] = time.sleep
    default_rate: float = 1.0
    bucket: TokenBucket | None = None
    metrics: Metrics = field(default_factory=NullMetrics)
    concurrency: int | None = None
    """Sending threads; None sizes the pool from the send rate (``pacing.concurrency_for``)."""
    windows: WindowIndex | None = None
    """Finds the changes an approval request's window overlaps (none named when None)."""
    recipient_links: RecipientLinks | None = None
    """Signs each recipient's sign-off links in an approval request (no links when None)."""
    survey_links: RecipientLinks | None = None
    """Signs each recipient's survey link (no survey is sent when None)."""
    suppressions: SuppressionStore | None = None
    """The customer's suppressed addresses, never mailed (none skipped when None)."""

    def pacing(self, mail: MailPort) -> TokenBucket:
        """The account's bucket, made on first use at the rate SES (or config.json) allows."""
        if self.bucket is None:
            rate, source = choose_rate(
                from_ses=mail.max_send_rate(),
                from_config=self.customer.max_send_rate,
                default=self.default_rate,
            )
            log.info("send_rate_chosen", rate=rate, source=source)
            self.bucket = TokenBucket(rate)
        return self.bucket


def load_version(trigger: Trigger, *, store: ObjectStore) -> Change:
    """The exact archived version the trigger names; ``NotFoundError`` when it is missing."""
    match = VERSION_KEY.match(trigger.archive_key)
    if match is None:
        raise InvalidInputError(f"{trigger.archive_key!r} is not an archived version key")
    if match.group(4) != trigger.change_id or int(match.group(5)) != trigger.version:
        raise InvalidInputError(
            f"{trigger.archive_key} is not version {trigger.version} of {trigger.change_id}"
        )
    stored = store.get(trigger.archive_key)
    change = decode(stored.key, stored.body)
    if change.change_id != trigger.change_id or change.version != trigger.version:
        raise InvalidInputError(f"{trigger.archive_key} holds another change or version")
    return change


def load_replaced(request: DeliveryRequest, *, store: ObjectStore) -> Change | None:
    """The approved version that the request's version replaces, for the events that show it.

    The trigger names it (``replacesVersion``); an older trigger or an embedded message does
    not, so it is derived from the version's history, and a missing archive then only costs
    the diff. A version the trigger names must exist (``NotFoundError`` otherwise).
    """
    if request.event not in SHOWS_REPLACED:
        return None
    change = request.change
    named = request.replaces_version
    version = named if named is not None else replaced_version(change.history, change.version)
    if version is None:
        return None
    if version >= change.version:
        raise InvalidInputError(
            f"version {change.version} cannot replace version {version}", version=version
        )
    key = version_key(ChangeId(change.change_id), change.created_at, version)
    try:
        stored = store.get(key)
    except NotFoundError:
        if named is not None:
            raise
        log.warning("replaced_version_missing", key=key)
        return None
    return decode(stored.key, stored.body)


def delivery_key(request: DeliveryRequest, customer: str) -> DeliveryKey:
    change = request.change
    return DeliveryKey(customer, change.change_id, change.version, request.event)


def deliver(request: DeliveryRequest, *, deps: DeliveryDeps, stop: StopSignal) -> ExecutionRecord:
    """Send ``request`` to the customer's subscribers, skipping those already sent; save the result.

    Raises ``DeliveryStoppedError`` when ``stop`` is set, ``RecipientsBusyError`` when another
    delivery holds some recipients, and the ports' errors otherwise. The run's counts (and, when
    it finished, its duration) go to ``deps.metrics``; the worker flushes them.
    """
    customer = deps.customer
    key = delivery_key(request, customer.customer_code)
    if customer.customer_code not in request.change.customer_codes:
        raise InvalidInputError(
            f"change {key.change_id} v{key.version} is not for customer {customer.customer_code}"
        )
    started = deps.clock.now()
    previous = load_replaced(request, store=deps.store)
    rendered = _rendered(request, previous, deps=deps, now=started)
    contacts, mail = deps.ses.contacts(), deps.ses.mail()
    if request.event is DistributionEvent.NUDGE:  # to the authors, not to a topic
        emails = authors_audience(request.change, customer)
    elif request.event is DistributionEvent.SURVEY and not surveys_on(deps):
        emails = Audience(recipients=(), filtered=0)
    else:
        emails = _audience(contacts, customer, rendered.topic)
    invites = _audience(contacts, customer, rendered.invite.topic) if rendered.invite else None
    emails, invites = _skip_suppressed(key, rendered, emails, invites, deps=deps)
    sender = Sender(
        delivery=key,
        ledger=deps.ledger,
        bucket=deps.pacing(mail),
        clock=deps.clock,
        owner=deps.owner,
        stop=stop,
        lease=deps.lease,
        backoff=deps.backoff,
        sleep=deps.sleep,
        concurrency=deps.concurrency,
    )
    log.info("delivery_started", delivery_event=key.event.value, emails=len(emails.recipients))
    try:
        _send_emails(sender, rendered, emails, mail=mail, deps=deps, change=request.change)
        if invites is not None:
            _send_invites(sender, rendered, invites, mail=mail, deps=deps)
        record = _finish(sender, [emails] + ([invites] if invites else []), started, deps=deps)
    finally:  # what was sent was sent, even when the run stops or fails midway
        record_counts(deps.metrics, key, sender.tally)
    seconds = (record.finished_at - record.started_at).total_seconds()
    record_duration(deps.metrics, key, seconds)
    return record


def surveys_on(deps: DeliveryDeps) -> bool:
    """Surveys go out when the customer wants them (config.json) and links can be signed."""
    if not deps.customer.surveys:
        log.info("survey_skipped", reason="surveys are off for this customer in config.json")
        return False
    if deps.survey_links is None:
        log.warning("survey_skipped", reason="no link secret", hint="set CHANGECAST_LINKS__SECRET")
        return False
    return True


def _rendered(
    request: DeliveryRequest, previous: Change | None, *, deps: DeliveryDeps, now: datetime
) -> RenderedEmail:
    """Render once per trigger; every recipient gets these same bytes."""
    return render_email(
        change=request.change,
        event=request.event,
        customer=deps.customer,
        email_config=deps.email_config,
        templates=deps.templates,
        topics=deps.topics,
        was_approved=request.was_approved,
        invite_sent=request.invite_sent,
        now=now,
        previous=previous,
        reason=request.reason,
        completed_at=request.completed_at,
        extras=approval_extras(
            request.change,
            deps.customer.customer_code,
            request.event,
            windows=deps.windows,
            signoff_links=deps.recipient_links is not None,
        ),
    )


def _skip_suppressed(
    key: DeliveryKey,
    rendered: RenderedEmail,
    emails: Audience,
    invites: Audience | None,
    *,
    deps: DeliveryDeps,
) -> tuple[Audience, Audience | None]:
    """Drop suppressed addresses; each is recorded in the ledger with the outcome ``suppressed``."""
    if deps.suppressions is None:
        return emails, invites
    records = deps.suppressions.suppressed(key.customer)
    if not records:
        return emails, invites
    why = {r.folded: f"suppressed ({r.reason.value.lower()}): {r.detail}"[:500] for r in records}
    folded = suppressed_set(records)
    now = deps.clock.now()
    emails, dropped = without_suppressed(emails, folded)
    for recipient in dropped:
        entry = LedgerKey(key, Channel.EMAIL, recipient)
        deps.ledger.mark_suppressed(
            entry, topic=rendered.topic, reason=why[recipient.lower()], now=now
        )
    if invites is not None and rendered.invite is not None:
        invites, skipped = without_suppressed(invites, folded)
        for recipient in skipped:
            entry = LedgerKey(key, Channel.INVITE, recipient)
            deps.ledger.mark_suppressed(
                entry, topic=rendered.invite.topic, reason=why[recipient.lower()], now=now
            )
    if dropped:
        log.info("recipients_suppressed", count=len(dropped))
    return emails, invites


def _audience(contacts: ContactSource, customer: CustomerMapping, topic: str) -> Audience:
    """The topic's subscribers, read page by page: only their addresses are held."""
    return audience(contacts.iter_contacts(customer.contact_list_name, topic=topic), customer)


def _send_emails(
    sender: Sender,
    rendered: RenderedEmail,
    emails: Audience,
    *,
    mail: MailPort,
    deps: DeliveryDeps,
    change: Change,
) -> None:
    personal = _personal_values(change, rendered, deps)

    def send_email(recipient: str) -> str:
        values = personal(recipient)
        return mail.send_email(
            sender=deps.email_config.sender_address,
            to=recipient,
            subject=rendered.subject,
            html=personalize(rendered.html, values),
            text=personalize(rendered.text, values),
            list_name=deps.customer.contact_list_name,
            topic=rendered.topic,
            tags=tags,
        )

    tags = message_tags(sender.delivery, Channel.EMAIL)
    sender.send_all(Channel.EMAIL, rendered.topic, emails.recipients, send_email)


def _personal_values(
    change: Change, rendered: RenderedEmail, deps: DeliveryDeps
) -> Callable[[str], Mapping[str, str]]:
    """Each recipient's placeholder values: sign-off links in an approval request, else none."""
    links = deps.recipient_links
    if rendered.event is DistributionEvent.SURVEY:
        links = deps.survey_links
    elif rendered.event is not DistributionEvent.SUBMITTED:
        links = None
    if links is None:
        return lambda _recipient: {}
    code = deps.customer.customer_code
    return lambda recipient: links.for_recipient(
        change=change, customer_code=code, recipient=recipient
    )


def _send_invites(
    sender: Sender,
    rendered: RenderedEmail,
    invites: Audience,
    *,
    mail: MailPort,
    deps: DeliveryDeps,
) -> None:
    if rendered.invite is None:
        return
    topic = rendered.invite.topic
    prepared = invite_message(
        rendered,
        sender=deps.email_config.meeting_organizer,
        sender_name=rendered.branding.name,
        change_id=sender.delivery.change_id,
    )

    def send_invite(recipient: str) -> str:
        return mail.send_raw(
            sender=prepared.sender,
            to=recipient,
            raw=prepared.for_recipient(recipient),
            list_name=deps.customer.contact_list_name,
            topic=topic,
            tags=tags,
        )

    tags = message_tags(sender.delivery, Channel.INVITE)

    sender.send_all(Channel.INVITE, topic, invites.recipients, send_invite)


def _finish(
    sender: Sender, audiences: list[Audience], started: datetime, *, deps: DeliveryDeps
) -> ExecutionRecord:
    """Retry later when recipients are held elsewhere; otherwise save and return the record."""
    tally = sender.tally
    if tally.busy_until is not None:
        wait = (tally.busy_until - deps.clock.now()).total_seconds()
        raise RecipientsBusyError(
            "another delivery of this trigger holds some recipients", retry_after=max(1.0, wait)
        )
    record = run_record(
        key=sender.delivery,
        tally=tally,
        recipients=sum(len(a.recipients) for a in audiences),
        filtered=sum(a.filtered for a in audiences),
        started_at=started,
        finished_at=deps.clock.now(),
    )
    save_record(record, store=deps.store, read_model=deps.read_model)
    log.info(
        "delivery_finished",
        status=record.status.value,
        sent=record.sent,
        already_sent=record.already_sent,
        failed=record.failed,
        filtered=record.filtered,
    )
    return record


def record_failure(*, key: DeliveryKey, reason: str, deps: DeliveryDeps) -> ExecutionRecord:
    """Save a failed record for a trigger that can never be delivered (a permanent error)."""
    record = failed_record(key=key, reason=reason, at=deps.clock.now())
    save_record(record, store=deps.store, read_model=deps.read_model)
    return record

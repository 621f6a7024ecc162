"""The one renderer of change emails and invites, shared by the worker and the portal's preview.

Jinja2 with autoescape (HTML) and ``StrictUndefined``; a customer may override any template, and
its branding, in ``{templates_dir}/{customer_code}/``. Render once per trigger, not per recipient.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field, replace
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    StrictUndefined,
    TemplateError,
)
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from changecast.changes.models import Change, ChangeStatus
from changecast.customers.models import CustomerMapping, EmailConfig
from changecast.delivery.approval_extras import ApprovalExtras
from changecast.delivery.diff import ChangedField, changed_fields
from changecast.delivery.invite import (
    Invite,
    build_invite,
    completion_invite,
    completion_time,
    invite_sequence,
)
from changecast.delivery.personal import (
    APPROVE_PLACEHOLDER,
    REJECT_PLACEHOLDER,
    SURVEY_PLACEHOLDER,
)
from changecast.delivery.router import CalendarMethod, Route, Topics, route
from changecast.delivery.view import change_view, when, window_in
from changecast.distribution.models import DistributionEvent, invite_changed
from changecast.distribution.planner import action_reason
from changecast.errors import InvalidInputError

UNSUBSCRIBE_PLACEHOLDER = "{{amazonSESUnsubscribeUrl}}"
SUBJECT_PREFIX = {
    DistributionEvent.SUBMITTED: "[Approval requested]",
    DistributionEvent.APPROVED: "[Approved]",
    DistributionEvent.UPDATED: "[Updated]",
    DistributionEvent.WITHDRAWN: "[Withdrawn]",
    DistributionEvent.COMPLETED: "[Completed]",
    DistributionEvent.CANCELLED: "[Cancelled]",
    DistributionEvent.REMINDER: "[Reminder]",
    DistributionEvent.WINDOW_OPEN: "[Window open]",
    DistributionEvent.WINDOW_CLOSED: "[Window closed]",
    DistributionEvent.NUDGE: "[Still open]",
    DistributionEvent.SURVEY: "[How did it go?]",
}
EVENT_LABEL = {
    DistributionEvent.SUBMITTED: "approval request",
    DistributionEvent.APPROVED: "approved",
    DistributionEvent.UPDATED: "updated",
    DistributionEvent.WITHDRAWN: "withdrawn",
    DistributionEvent.COMPLETED: "completed",
    DistributionEvent.CANCELLED: "cancelled",
    DistributionEvent.REMINDER: "reminder",
    DistributionEvent.WINDOW_OPEN: "window open",
    DistributionEvent.WINDOW_CLOSED: "window closed",
    DistributionEvent.NUDGE: "still open after its window",
    DistributionEvent.SURVEY: "survey",
}
"""What every email says it is, next to the version it describes."""
ANNOUNCEMENT_SUBJECT_PREFIX = {
    DistributionEvent.APPROVED: "[Published]",
    DistributionEvent.CANCELLED: "[Withdrawn]",
}
"""Where an announcement's subject differs from a change's."""
STATUS_AFTER = {
    DistributionEvent.SUBMITTED: ChangeStatus.SUBMITTED,
    DistributionEvent.APPROVED: ChangeStatus.APPROVED,
    DistributionEvent.UPDATED: ChangeStatus.APPROVED,
    DistributionEvent.WITHDRAWN: ChangeStatus.REJECTED,
    DistributionEvent.COMPLETED: ChangeStatus.COMPLETED,
    DistributionEvent.CANCELLED: ChangeStatus.CANCELLED,
    DistributionEvent.REMINDER: ChangeStatus.APPROVED,
    DistributionEvent.WINDOW_OPEN: ChangeStatus.APPROVED,
    DistributionEvent.WINDOW_CLOSED: ChangeStatus.APPROVED,
    DistributionEvent.NUDGE: ChangeStatus.APPROVED,
    DistributionEvent.SURVEY: ChangeStatus.COMPLETED,
}
"""The change's status once the event happened (the archived version still says submitted)."""
SHOWS_CHANGES = frozenset({DistributionEvent.SUBMITTED, DistributionEvent.UPDATED})
"""The events whose email lists what changed against the replaced approved version."""
INVITE_PREFIX = {CalendarMethod.REQUEST: "Invitation:", CalendarMethod.CANCEL: "Cancelled:"}


class Branding(BaseModel):
    """What a customer may brand: a name, an accent colour and a logo (``branding.json``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(default="Cloud change notices", max_length=120)
    colour: str = Field(default="#1f4e79", pattern=r"^#[0-9A-Fa-f]{6}$")
    logo_url: str | None = Field(default=None, pattern=r"^https://[^\s\"'<>]+$", max_length=500)


def _autoescape(name: str | None) -> bool:
    """Escape everything but the plain-text templates."""
    return name is None or not name.endswith(".txt.j2")


class TemplateSource:
    """The package templates, overridden per customer by files in ``root/{code}/``."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root
        self._environments: dict[str, Environment] = {}
        self._branding: dict[str, Branding] = {}
        self._lock = threading.Lock()

    def environment(self, customer_code: str) -> Environment:
        with self._lock:
            found = self._environments.get(customer_code)
            if found is None:
                loaders: list[Any] = []
                if self.root is not None:
                    loaders.append(FileSystemLoader(self.root / customer_code))
                loaders.append(PackageLoader("changecast.delivery", "templates"))
                found = Environment(
                    loader=ChoiceLoader(loaders),
                    autoescape=_autoescape,
                    undefined=StrictUndefined,
                    trim_blocks=True,
                    lstrip_blocks=True,
                    keep_trailing_newline=True,
                )
                self._environments[customer_code] = found
            return found

    def branding(self, customer_code: str) -> Branding:
        with self._lock:
            found = self._branding.get(customer_code)
            if found is None:
                found = self._read_branding(customer_code)
                self._branding[customer_code] = found
            return found

    def _read_branding(self, customer_code: str) -> Branding:
        path = None if self.root is None else self.root / customer_code / "branding.json"
        if path is None or not path.is_file():
            return Branding()
        try:
            return Branding.model_validate(json.loads(path.read_text(encoding="utf-8")))
        except (ValueError, ValidationError) as exc:
            raise InvalidInputError(f"{path}: is not valid branding: {exc}") from None


_DEFAULT = TemplateSource()


@dataclass(frozen=True)
class RenderedInvite:
    """The calendar part of a delivery: sent as raw MIME to the calendar topic's subscribers.

    ``html`` and ``text`` are the invite's own text parts: the event's email rendered again with
    the calendar topic, so that its footer names the list the invite was really sent under.
    """

    topic: str
    subject: str
    invite: Invite
    html: str = ""
    text: str = ""

    @property
    def method(self) -> CalendarMethod:
        return self.invite.method


@dataclass(frozen=True)
class RenderedEmail:
    """One event's email for one customer, ready to send to each recipient unchanged."""

    event: DistributionEvent
    template: str
    topic: str
    subject: str
    html: str
    text: str
    branding: Branding = field(default_factory=Branding)
    invite: RenderedInvite | None = None


def checked_subject(subject: str) -> str:
    """A subject must be one line: CR or LF would let it inject headers."""
    if "\r" in subject or "\n" in subject:
        raise InvalidInputError("the email subject must not contain CR or LF", field="subject")
    return subject


def _context(
    change: Change,
    *,
    event: DistributionEvent,
    previous: Change | None,
    customer: CustomerMapping,
    email_config: EmailConfig,
    branding: Branding,
    topic: str,
    subject: str,
    calendar: CalendarMethod | None,
) -> dict[str, Any]:
    described = _described(change, event, previous)
    view = change_view(described, email_config=email_config)
    view["change"] = {**view["change"], "status": STATUS_AFTER[event].value}
    changes = []
    if previous is not None and event in SHOWS_CHANGES:
        changes = changed_fields(previous, change, customer=customer)
    return {
        **view,
        "event": event.value,
        "event_label": EVENT_LABEL[event],
        "version": change.version,
        "replaced": None if previous is None else {"version": previous.version},
        "changes": [_changed_row(c) for c in changes],
        "diff_url": (
            None
            if previous is None
            else f"{view['portal_url']}?compare={previous.version}&to={change.version}#diff"
        ),
        "subject": subject,
        "customer": {
            "code": customer.customer_code,
            "name": customer.customer_name,
            "production": customer.is_production,
        },
        "branding": branding.model_dump(),
        "topic": topic,
        "calendar": None if calendar is None else calendar.value,
        "unsubscribe_url": UNSUBSCRIBE_PLACEHOLDER,
        "customer_window": window_in(described, customer.timezone),
    }


def _changed_row(row: ChangedField) -> dict[str, Any]:
    words = None
    if row.words is not None:
        words = [{"tag": piece.tag, "text": piece.text} for piece in row.words]
    return {"label": row.label, "old": row.old, "new": row.new, "words": words, "long": row.long}


def _completion(
    method: CalendarMethod | None,
    completed_at: datetime | None,
    customer: CustomerMapping,
    change: Change,
) -> dict[str, str] | None:
    """What the completion email says about an early end (None: completed at the window's end)."""
    if method is None or completed_at is None:
        return None
    schedule = change.change_metadata.schedule
    zone = ZoneInfo(customer.timezone) if customer.timezone else None
    zone = zone or (schedule.zone if schedule is not None else None)
    return {
        "kind": "ended" if method is CalendarMethod.REQUEST else "unused",
        "at": when(completed_at.astimezone(zone) if zone is not None else completed_at),
    }


def _described(change: Change, event: DistributionEvent, previous: Change | None) -> Change:
    """The version an email describes: a withdrawal describes the approved one it withdraws."""
    return previous if event is DistributionEvent.WITHDRAWN and previous is not None else change


def _invite(
    change: Change,
    chosen: Route,
    *,
    previous: Change | None,
    customer_code: str,
    email_config: EmailConfig,
    completed_at: datetime | None = None,
    **extra: Any,
) -> RenderedInvite | None:
    if chosen.calendar is None:
        return None
    sequence = invite_sequence(change.version, chosen.calendar)
    ended_at = None
    if chosen.event is DistributionEvent.COMPLETED:  # after the approval's REQUEST, and last
        sequence = change.version + 1
        ended_at = completed_at if chosen.calendar is CalendarMethod.REQUEST else None
    built = build_invite(
        change=_described(change, chosen.event, previous),
        customer_code=customer_code,
        email_config=email_config,
        method=chosen.calendar,
        sequence=sequence,
        ended_at=ended_at,
        **extra,
    )
    prefix = INVITE_PREFIX[chosen.calendar]
    if chosen.event is DistributionEvent.COMPLETED and chosen.calendar is CalendarMethod.REQUEST:
        prefix = "Ended early:"
    subject = checked_subject(f"{prefix} {built.summary}")
    return RenderedInvite(topic=chosen.calendar_topic, subject=subject, invite=built)


def render_email(
    *,
    change: Change,
    event: DistributionEvent,
    customer: CustomerMapping,
    email_config: EmailConfig,
    templates: TemplateSource | None = None,
    topics: Topics | None = None,
    was_approved: bool | None = None,
    invite_sent: bool | None = None,
    now: datetime | None = None,
    previous: Change | None = None,
    extras: ApprovalExtras | None = None,
    reason: str | None = None,
    completed_at: datetime | None = None,
) -> RenderedEmail:
    """Route ``event``, render its email (HTML and text) and, when due, its calendar invite.

    ``extras`` adds the approval request's overlapping changes, overrides and sign-off links.
    ``reason`` is a cancellation's or withdrawal's comment (the trigger's); by default it is read
    from the change's history (the cancel or reject entry of its version). ``completed_at`` is
    when a completion happened (the trigger's time; by default the history's complete entry):
    completed before the invite's end, the invite is ended then, or cancelled if the window had
    not begun (``invite.completion_invite``).

    ``was_approved`` and ``invite_sent`` come from the trigger; by default they are read from the
    change's history. ``now`` stamps the invite (DTSTAMP); by default the change's modification.
    ``previous`` is the approved version that ``change`` replaces: an approval request or an
    update then shows what changed (old → new), an update sends an invite only when schedule or
    meeting changed, and a withdrawal describes (and cancels the invite of) ``previous``.
    """
    source = templates or _DEFAULT
    approved = change.was_approved() if was_approved is None else was_approved
    sent = approved if invite_sent is None else invite_sent
    moved = previous is None or invite_changed(previous, change)
    notice = change.announcement
    if event is DistributionEvent.COMPLETED and completed_at is None:
        completed_at = completion_time(change)
    completion = None
    if event is DistributionEvent.COMPLETED:
        completion = completion_invite(change, completed_at)
    chosen = route(
        event,
        was_approved=approved,
        invite_sent=sent,
        invite_changed=moved,
        topics=topics,
        announcement=None if notice is None else notice.announcement_kind,
        has_event=change.change_metadata.schedule is not None,
        completion=completion,
    )
    branding = source.branding(customer.customer_code)
    described = _described(change, event, previous)
    prefix = SUBJECT_PREFIX[event]
    if notice is not None:
        prefix = ANNOUNCEMENT_SUBJECT_PREFIX.get(event, prefix)
    subject = checked_subject(f"{prefix} {described.subject} (version {described.version})")
    context = _context(
        change,
        event=event,
        previous=previous,
        customer=customer,
        email_config=email_config,
        branding=branding,
        topic=chosen.topic,
        subject=subject,
        calendar=chosen.calendar,
    )
    context["reason"] = reason or action_reason(change, event)
    context["completion"] = _completion(completion, completed_at, customer, change)
    context.update((extras or ApprovalExtras()).context(email_config.portal_base_url))
    environment = source.environment(customer.customer_code)
    invite = _invite(
        change,
        chosen,
        previous=previous,
        customer_code=customer.customer_code,
        email_config=email_config,
        completed_at=completed_at,
        now=now or change.modified_at,
        organizer_name=branding.name,
        description=f"{described.title}\n{context['portal_url']}",
    )
    if invite is not None:  # its own parts: the footer names the calendar topic
        own = {**context, "topic": invite.topic}
        invite = replace(
            invite,
            html=_render(environment, f"{chosen.template}.html.j2", own),
            text=_render(environment, f"{chosen.template}.txt.j2", own),
        )
    return RenderedEmail(
        event=event,
        template=chosen.template,
        topic=chosen.topic,
        subject=subject,
        html=_render(environment, f"{chosen.template}.html.j2", context),
        text=_render(environment, f"{chosen.template}.txt.j2", context),
        branding=branding,
        invite=invite,
    )


def _render(environment: Environment, name: str, context: dict[str, Any]) -> str:
    try:
        return environment.get_template(name).render(context)
    except TemplateError as exc:
        problem = f"template {name} cannot be rendered: {exc}"
        raise InvalidInputError(problem, template=name) from exc


PREVIEW_LABELS = {
    APPROVE_PLACEHOLDER: "example link, personal to each recipient: approves for their customer",
    REJECT_PLACEHOLDER: "example link, personal to each recipient: rejects for their customer",
    SURVEY_PLACEHOLDER: "example link, personal to each recipient: their own survey",
    UNSUBSCRIBE_PLACEHOLDER: "unsubscribe link, personal to each recipient (added by SES)",
}
"""What a preview shows in place of each per-recipient part (filled only when sent)."""
_HREF = re.compile(r"""href=(["'])(%%changecast-[a-z-]+%%|\{\{amazonSESUnsubscribeUrl\}\})\1""")


def _preview_html(html: str) -> str:
    def labelled(match: re.Match[str]) -> str:
        placeholder = match.group(2)
        anchor = placeholder.strip("%{}").lower()
        label = escape(PREVIEW_LABELS.get(placeholder, "personal to each recipient"), quote=True)
        return f'href="#example-{anchor}" title="{label}" data-example="{anchor}"'

    html = _HREF.sub(labelled, html)
    for placeholder, label in PREVIEW_LABELS.items():  # any left outside a link
        html = html.replace(placeholder, escape(f"<{label}>"))
    return html


def _preview_text(text: str) -> str:
    for placeholder, label in PREVIEW_LABELS.items():
        text = text.replace(placeholder, f"<{label}>")
    return text


def preview_email(rendered: RenderedEmail) -> RenderedEmail:
    """``rendered`` as a preview shows it: each per-recipient part a labelled example.

    A sent email's placeholders are filled per recipient (sign-off and survey links by the
    worker, the unsubscribe link by SES); a preview has no recipient, so it shows what each one
    is instead of a raw placeholder: in the text part ``<example link, personal to each
    recipient: …>``; in the HTML part a link to ``#example-…`` titled with that label.
    """
    invite = rendered.invite
    if invite is not None:
        invite = replace(invite, html=_preview_html(invite.html), text=_preview_text(invite.text))
    return replace(
        rendered,
        html=_preview_html(rendered.html),
        text=_preview_text(rendered.text),
        invite=invite,
    )

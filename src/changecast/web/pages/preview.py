"""Preview: the metadata JSON and, per customer, the exact email the worker's renderer produces."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from changecast.access.models import Actor
from changecast.access.policy import may_act
from changecast.actions import service
from changecast.actions.context import ChangeDeps
from changecast.bootstrap import Runtime
from changecast.changes.models import Action, Change, ChangeStatus
from changecast.changes.workflow import replaced_version
from changecast.delivery.preflight import PreflightReport
from changecast.delivery.recipients import RecipientCounter, TopicCount
from changecast.delivery.render import (
    RenderedEmail,
    TemplateSource,
    preview_email,
    render_email,
)
from changecast.delivery.router import Topics
from changecast.distribution.models import DistributionEvent
from changecast.errors import NotFoundError
from changecast.ids import ChangeId, parse_customer_code
from changecast.web.deps import ChangeIdPath, ChangesDep, CurrentActor, RuntimeDep
from changecast.web.pages.gate_preview import preview_extras, preview_findings
from changecast.web.pages.security import EMAIL_FRAME_CSP
from changecast.web.pages.templating import render

router = APIRouter(include_in_schema=False)

NEXT_EVENT = {
    ChangeStatus.DRAFT: DistributionEvent.SUBMITTED,
    ChangeStatus.SUBMITTED: DistributionEvent.APPROVED,
    ChangeStatus.APPROVED: DistributionEvent.COMPLETED,
}


@dataclass(frozen=True)
class CustomerPreview:
    """One customer's email as it will be sent, with its recipients per topic."""

    code: str
    name: str
    production: bool
    email: RenderedEmail
    counts: list[TopicCount]
    preflight: PreflightReport
    """Whether the customer's SES account can send these emails now (cached briefly)."""


EVENT_LABELS = {
    DistributionEvent.SUBMITTED: "Approval request",
    DistributionEvent.APPROVED: "Approved",
    DistributionEvent.UPDATED: "Updated",
    DistributionEvent.WITHDRAWN: "Withdrawn",
    DistributionEvent.COMPLETED: "Completed",
    DistributionEvent.CANCELLED: "Cancelled",
    DistributionEvent.REMINDER: "Reminder",
    DistributionEvent.WINDOW_OPEN: "Window opens",
    DistributionEvent.WINDOW_CLOSED: "Window closed",
    DistributionEvent.NUDGE: "Nudge to the author",
    DistributionEvent.SURVEY: "Survey",
}
"""The preview's tab for each email (the event ids are for machines)."""


def template_source(request: Request, runtime: Runtime) -> TemplateSource:
    """The worker's templates, with the same per-customer overrides (built once per app)."""
    source: TemplateSource | None = getattr(request.app.state, "email_templates", None)
    if source is None:
        source = TemplateSource(runtime.settings.delivery.templates_dir)
        request.app.state.email_templates = source
    return source


def recipient_counter(request: Request, runtime: Runtime) -> RecipientCounter:
    counter: RecipientCounter | None = getattr(request.app.state, "recipient_counter", None)
    return counter or runtime.recipient_counter


def chosen_event(raw: str, change: Change) -> DistributionEvent:
    try:
        return DistributionEvent(raw)
    except ValueError:
        pass
    replacing = replaced_version(change.history, change.version) is not None
    if change.status is ChangeStatus.SUBMITTED and replacing:  # its approval is an update
        return DistributionEvent.UPDATED
    return NEXT_EVENT.get(change.status, DistributionEvent.SUBMITTED)


@dataclass(frozen=True)
class Renderer:
    """The worker's renderer, with the worker's templates and topics."""

    runtime: Runtime
    templates: TemplateSource
    topics: Topics

    @classmethod
    def of(cls, request: Request, runtime: Runtime) -> Renderer:
        return cls(
            runtime, template_source(request, runtime), Topics.from_ses_config(runtime.ses_config)
        )

    def email(self, change: Change, code: str, event: DistributionEvent) -> RenderedEmail:
        if code not in change.customer_codes:
            raise NotFoundError(f"customer {code} is not on this change")
        rendered = render_email(
            change=change,
            event=event,
            customer=self.runtime.directory.get(code),
            email_config=self.runtime.config.email_config,
            templates=self.templates,
            topics=self.topics,
            extras=preview_extras(self.runtime, change, code, event),
            previous=self.replaced(change, event),
        )
        return preview_email(rendered)  # labelled examples, never raw placeholders

    def replaced(self, change: Change, event: DistributionEvent) -> Change | None:
        """The approved version ``change`` replaces, as the worker loads it (what changed)."""
        if event not in REPLACING_EVENTS:
            return None
        version = replaced_version(change.history, change.version)
        if version is None:
            return None
        try:
            return self.runtime.archive.get_version(
                ChangeId(change.change_id), change.created_at, version
            )
        except NotFoundError:
            return None


REPLACING_EVENTS = frozenset(
    {DistributionEvent.SUBMITTED, DistributionEvent.UPDATED, DistributionEvent.WITHDRAWN}
)
"""Events whose email describes the replaced approved version too (what changed, withdrawn)."""


def previews(
    renderer: Renderer, counter: RecipientCounter, change: Change, event: DistributionEvent
) -> list[CustomerPreview]:
    def one(code: str) -> CustomerPreview:
        mapping = renderer.runtime.directory.get(code)
        email = renderer.email(change, code, event)
        topics = [email.topic] + ([email.invite.topic] if email.invite else [])
        return CustomerPreview(
            code=code,
            name=mapping.customer_name,
            production=mapping.is_production,
            email=email,
            counts=counter.count(mapping, topics),
            preflight=renderer.runtime.preflight.check(mapping, topics),
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(one, change.customer_codes))


@router.get("/changes/{change_id}/preview", response_class=HTMLResponse)
def preview_page(
    request: Request,
    change_id: ChangeIdPath,
    deps: ChangesDep,
    runtime: RuntimeDep,
    actor: CurrentActor,
    event: str = "",
) -> HTMLResponse:
    change = service.get(deps=deps, actor=actor, change_id=change_id)
    chosen = chosen_event(event, change)
    context: dict[str, Any] = {
        "change": change,
        "event": chosen.value,
        "events": [(e.value, EVENT_LABELS[e]) for e in DistributionEvent],
        "metadata_json": json.dumps(change.to_json_dict(), indent=2, ensure_ascii=False),
        "previews": previews(
            Renderer.of(request, runtime), recipient_counter(request, runtime), change, chosen
        ),
        "may_submit": change.status is ChangeStatus.DRAFT and may_act(actor, Action.SUBMIT, change),
        "gate_findings": preview_findings(deps, change),
    }
    return render(request, "pages/preview.html", actor, context)


def _load(
    request: Request, deps: ChangeDeps, actor: Actor, change_id: ChangeId, code: str, event: str
) -> RenderedEmail:
    change = service.get(deps=deps, actor=actor, change_id=change_id)
    renderer = Renderer.of(request, request.app.state.runtime)
    return renderer.email(change, parse_customer_code(code), chosen_event(event, change))


@router.get("/changes/{change_id}/preview/{code}/email.html")
def email_frame(
    request: Request,
    change_id: ChangeIdPath,
    code: str,
    deps: ChangesDep,
    actor: CurrentActor,
    event: str = "",
) -> Response:
    """The HTML part alone, for the sandboxed iframe: its own CSP allows no script at all."""
    email = _load(request, deps, actor, change_id, code, event)
    headers = {"content-security-policy": EMAIL_FRAME_CSP, "x-frame-options": "SAMEORIGIN"}
    return HTMLResponse(email.html, headers=headers)


@router.get("/changes/{change_id}/preview/{code}/invite.ics")
def invite_file(
    request: Request,
    change_id: ChangeIdPath,
    code: str,
    deps: ChangesDep,
    actor: CurrentActor,
    event: str = "",
) -> Response:
    email = _load(request, deps, actor, change_id, code, event)
    if email.invite is None:
        raise NotFoundError(f"the {email.event.value} email carries no calendar invite")
    disposition = f'attachment; filename="{change_id}-{code}.ics"'
    return Response(
        email.invite.invite.ics,
        media_type="text/calendar; charset=utf-8",
        headers={"content-disposition": disposition},
    )

"""Outbox (local mode only): per customer, every email the embedded SES sent, rendered."""

from __future__ import annotations

import email
from dataclasses import dataclass
from email.message import Message

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from changecast.access.policy import may_read_outbox, require_outbox
from changecast.bootstrap import Runtime
from changecast.errors import NotFoundError, PermissionDeniedError
from changecast.ids import parse_customer_code
from changecast.local.outbox import OutboxItem, read_outbox
from changecast.web.deps import CurrentActor, RuntimeDep
from changecast.web.pages.security import EMAIL_FRAME_CSP
from changecast.web.pages.templating import render

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class MailParts:
    """The parts of one sent message a person reads: HTML, text, and the calendar object."""

    html: str
    text: str
    ics: bytes | None


def _decoded(part: Message) -> bytes:
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


def mail_parts(item: OutboxItem) -> MailParts:
    """Split a raw MIME message; a simple message's body is its HTML (or its text)."""
    if not item.body.startswith(("From:", "To:", "Subject:", "MIME-Version:", "Content-")):
        looks_html = item.body.lstrip().startswith("<")
        return MailParts(
            html=item.body if looks_html else "", text="" if looks_html else item.body, ics=None
        )
    message = email.message_from_string(item.body)
    html, text, ics = "", "", None
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "text/html" and not html:
            html = _decoded(part).decode("utf-8", "replace")
        elif kind == "text/plain" and not text:
            text = _decoded(part).decode("utf-8", "replace")
        elif kind == "text/calendar" and ics is None:
            ics = _decoded(part)
    return MailParts(html=html, text=text, ics=ics)


def _find(runtime: Runtime, code: str, message_id: str) -> OutboxItem:
    for item in read_outbox(runtime, parse_customer_code(code)):
        if item.message_id == message_id:
            return item
    raise NotFoundError(f"no message {message_id[:80]!r} in {code}'s outbox")


@router.get("/outbox", response_class=HTMLResponse)
def outbox_page(
    request: Request,
    runtime: RuntimeDep,
    actor: CurrentActor,
    customer: str = "",
    change: str = "",
) -> HTMLResponse:
    """One customer's sent mail, newest first; ``change`` keeps one change's messages."""
    codes = [c for c in runtime.directory.codes if may_read_outbox(actor, c)]
    if not codes:
        raise PermissionDeniedError("you manage no customer, so no outbox is yours to read")
    code = customer if customer in codes else codes[0]
    items = list(reversed(read_outbox(runtime, code)))
    changes: dict[str, str] = {}
    for item in reversed(items):  # each change named by its first message's subject
        if item.change_id:
            changes.setdefault(item.change_id, item.subject)
    chosen = change if change in changes else ""
    shown = [item for item in items if not chosen or item.change_id == chosen]
    context = {
        "customers": [(c, runtime.directory.get(c).customer_name) for c in codes],
        "customer": code,
        "changes": sorted(changes.items(), key=lambda pair: pair[1].lower()),
        "change": chosen,
        "total": len(items),
        "items": [(item, mail_parts(item)) for item in shown],
    }
    return render(request, "pages/outbox.html", actor, context)


@router.get("/outbox/{code}/{message_id}/message.html")
def outbox_html(code: str, message_id: str, runtime: RuntimeDep, actor: CurrentActor) -> Response:
    """The HTML part alone, for the sandboxed iframe (no script may run)."""
    require_outbox(actor, code)
    parts = mail_parts(_find(runtime, code, message_id))
    headers = {"content-security-policy": EMAIL_FRAME_CSP, "x-frame-options": "SAMEORIGIN"}
    return HTMLResponse(parts.html or "<p>(no HTML part)</p>", headers=headers)


@router.get("/outbox/{code}/{message_id}/invite.ics")
def outbox_invite(code: str, message_id: str, runtime: RuntimeDep, actor: CurrentActor) -> Response:
    require_outbox(actor, code)
    parts = mail_parts(_find(runtime, code, message_id))
    if parts.ics is None:
        raise NotFoundError("this message carries no calendar invite")
    disposition = f'attachment; filename="{parse_customer_code(code)}-invite.ics"'
    return Response(
        parts.ics,
        media_type="text/calendar; charset=utf-8",
        headers={"content-disposition": disposition},
    )

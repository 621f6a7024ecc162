"""Starting and ending a session, each recorded in the audit trail."""

from __future__ import annotations

from datetime import UTC, datetime

import structlog
from fastapi import Request
from starlette.responses import Response

from changecast.access.models import Actor
from changecast.access.users import record_grant
from changecast.audit.models import AuditAction
from changecast.audit.service import new_event
from changecast.web.auth.address import client_address
from changecast.web.auth.session import SessionData
from changecast.web.deps import current_session, get_codec, get_runtime

log = structlog.get_logger()


def safe_path(raw: str | None) -> str | None:
    """A same-site path to return to, or None (never another origin)."""
    if not raw or not raw.startswith("/") or raw.startswith("//") or "\\" in raw:
        return None
    return None if any(ord(ch) < 32 for ch in raw) else raw[:500]


def start_session(
    request: Request,
    response: Response,
    actor: Actor,
    *,
    method: str,
    session: SessionData | None = None,
) -> SessionData:
    """Set the session cookie for ``actor`` (a new session unless given) and record the sign-in.

    The grant is remembered as the person's current one: their API tokens act with it.
    """
    runtime = get_runtime(request)
    address = client_address(request, runtime.settings.web.trusted_proxy_hops)
    signed_in = actor.model_copy(update={"source_ip": address})
    started = get_codec(request).set_cookie(response, session or signed_in)
    record_grant(runtime.users, actor, at=runtime.clock.now())  # what their tokens act with
    event = new_event(
        actor=signed_in, action=AuditAction.SIGN_IN, clock=runtime.clock, detail={"method": method}
    )
    runtime.audit.record(event)
    log.info("signed_in", email=actor.email, role=actor.role.value, method=method)
    return started


def end_session(request: Request, response: Response) -> None:
    """Clear the cookie and refuse the session from now on, even if its cookie is replayed."""
    codec = get_codec(request)
    session = current_session(request)
    codec.clear_cookie(response)
    if session is None:
        return
    runtime = get_runtime(request)
    ends = datetime.fromtimestamp(codec.ends_at(session), UTC)
    runtime.signins.end_session(session.sid, ends)
    actor = session.actor().model_copy(
        update={"source_ip": client_address(request, runtime.settings.web.trusted_proxy_hops)}
    )
    runtime.audit.record(new_event(actor=actor, action=AuditAction.SIGN_OUT, clock=runtime.clock))
    request.state.session = None

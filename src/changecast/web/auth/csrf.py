"""CSRF protection: every state-changing request made with the session cookie carries a token.

The token is an HMAC of the session id, so it changes with each sign-in and needs no storage.
Send it as the ``X-CSRF-Token`` header (htmx, fetch) or the ``csrf_token`` form field. Requests
authenticated by ``Authorization: Bearer`` carry no ambient credential and are not checked.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

import structlog
from fastapi import Request

from changecast.errors import PermissionDeniedError
from changecast.web.deps import current_session, get_codec

log = structlog.get_logger()

HEADER = "x-csrf-token"
FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
EXEMPT_PATHS = frozenset({"/auth/dev-login", "/saml/acs"})
"""Sign-in endpoints: no session yet; the ACS is protected by the signed assertion instead."""
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class CsrfError(PermissionDeniedError):
    """A state-changing request with the session cookie but without the right CSRF token."""

    kind = "csrf_failed"


def csrf_token(secret: str, session_id: str) -> str:
    digest = hmac.new(secret.encode(), b"csrf|" + session_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def csrf_token_for(request: Request) -> str:
    """The token pages put in forms and in htmx's headers; "" when nobody is signed in."""
    session = current_session(request)
    if session is None:
        return ""
    return csrf_token(get_codec(request).secret, session.sid)


async def require_csrf(request: Request) -> None:
    """App-wide dependency: refuse (403) a cookie-authenticated unsafe request without the token."""
    if not getattr(request.app.state, "csrf_enforced", True):
        return
    if request.method in SAFE_METHODS or request.url.path in EXEMPT_PATHS:
        return
    if "authorization" in request.headers:
        return  # judged by the token alone (see deps.current_actor); browsers cannot forge it
    session = current_session(request)
    if session is None:
        return  # no ambient credential to abuse; the route itself answers 401 if it needs one
    sent = request.headers.get(HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(FORM_TYPES):
        value = (await request.form()).get(FIELD)
        sent = value if isinstance(value, str) else None
    expected = csrf_token(get_codec(request).secret, session.sid)
    if sent is None or not hmac.compare_digest(sent.encode(), expected.encode()):
        log.warning(
            "csrf_rejected",
            method=request.method,
            path=request.url.path,
            reason="missing" if sent is None else "mismatch",
        )
        raise CsrfError(
            "this request needs a CSRF token (the X-CSRF-Token header or the csrf_token "
            "form field); reload the page and try again"
        )

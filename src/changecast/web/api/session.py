"""``GET /api/session``: who is signed in, how, and the CSRF token for their requests."""

from __future__ import annotations

from fastapi import APIRouter, Request

from changecast.web.api.schemas import ERRORS, SessionView
from changecast.web.auth.csrf import csrf_token_for
from changecast.web.deps import CurrentActor

router = APIRouter(prefix="/api", tags=["session"], responses=ERRORS)


@router.get("/session")
def session(request: Request, actor: CurrentActor) -> SessionView:
    """The caller; ``csrfToken`` goes in ``X-CSRF-Token`` on cookie-authenticated writes."""
    by_token = "authorization" in request.headers
    return SessionView(
        email=actor.email,
        display_name=actor.display_name,
        role=actor.role,
        customers=sorted(actor.customers),
        authenticated_by="token" if by_token else "session",
        csrf_token="" if by_token else csrf_token_for(request),
    )

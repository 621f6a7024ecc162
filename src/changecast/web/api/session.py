"""``GET /api/session``: who is signed in, how, and the CSRF token for their requests."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from changecast.web.auth.csrf import csrf_token_for
from changecast.web.deps import CurrentActor

router = APIRouter(prefix="/api", tags=["session"])


@router.get("/session")
def session(request: Request, actor: CurrentActor) -> dict[str, Any]:
    """The caller; ``csrfToken`` goes in ``X-CSRF-Token`` on cookie-authenticated writes."""
    by_token = "authorization" in request.headers
    return {
        "email": actor.email,
        "displayName": actor.display_name,
        "role": actor.role.value,
        "customers": sorted(actor.customers),
        "authenticatedBy": "token" if by_token else "session",
        "csrfToken": "" if by_token else csrf_token_for(request),
    }

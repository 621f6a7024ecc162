"""The sign-in page (local mode: a form posting to /auth/dev-login) and sign-out."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from changecast.access.models import Role
from changecast.web.auth.lifecycle import end_session
from changecast.web.deps import RuntimeDep
from changecast.web.pages.errors import optional_actor
from changecast.web.pages.templating import render

router = APIRouter(include_in_schema=False)


def safe_next(raw: str | None) -> str:
    """Only same-site paths; anything else sends the user to the dashboard."""
    if raw and raw.startswith("/") and not raw.startswith("//") and "\\" not in raw:
        return raw[:500]
    return "/"


@router.get("/signin")
def signin(request: Request, runtime: RuntimeDep, next: str | None = None) -> HTMLResponse:
    context = {
        "next": safe_next(next),
        "roles": [role.value for role in Role],
        "customers": runtime.directory.codes,
        "dev_login": runtime.settings.dev_login_enabled,
        "sso": request.app.state.saml is not None,
    }
    return render(request, "pages/signin.html", optional_actor(request), context)


@router.post("/signout")
def signout(request: Request) -> Response:
    """End the session (refused from now on, even if its cookie is replayed)."""
    response = RedirectResponse("/signin", status_code=303)
    end_session(request, response)
    return response

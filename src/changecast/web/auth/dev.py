"""Local mode only: ``POST /auth/dev-login`` picks an identity without an IdP.

``Settings`` refuses ``CHANGECAST_DEV_LOGIN`` outside local mode, and the app mounts this router
only when ``settings.dev_login_enabled``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import ValidationError

from changecast.access.models import Actor, Role
from changecast.errors import InvalidInputError, MalformedInputError, problems_from_pydantic
from changecast.ids import parse_customer_code
from changecast.web.auth.csrf import csrf_token
from changecast.web.auth.lifecycle import end_session, safe_path, start_session
from changecast.web.deps import get_codec

router = APIRouter()


@router.post("/auth/dev-login", include_in_schema=False)
def dev_login(
    request: Request,
    email: Annotated[str, Form()],
    role: Annotated[str, Form()] = Role.CHANGE_MANAGER.value,
    customers: Annotated[str, Form()] = "",
    next_url: Annotated[str, Form(alias="next")] = "",
) -> Response:
    """Sign in as anyone; exists only when the app was built in local mode."""
    codes = [c.strip() for c in customers.replace(";", ",").split(",") if c.strip()]
    for code in codes:
        parse_customer_code(code)
    try:
        actor = Actor(
            email=email.strip().lower(),
            display_name=email.strip(),
            role=Role(role),
            customers=frozenset(codes),
        )
    except ValueError as exc:
        if isinstance(exc, ValidationError):
            raise InvalidInputError(
                "invalid sign-in", details=problems_from_pydantic(exc.errors())
            ) from None
        valid = ", ".join(r.value for r in Role)
        raise MalformedInputError(
            f"unknown role {role[:40]!r}: choose one of {valid}", field="role"
        ) from None
    codec = get_codec(request)
    session = codec.new_session(actor)
    target = safe_path(next_url)
    if target is not None:
        response: Response = RedirectResponse(target, status_code=303)
    else:
        token = csrf_token(codec.secret, session.sid)
        response = JSONResponse(
            {"email": actor.email, "role": actor.role.value, "csrfToken": token}
        )
    start_session(request, response, actor, method="dev-login", session=session)
    return response


@router.post("/auth/logout", include_in_schema=False)
def logout(request: Request) -> Response:
    response = JSONResponse({"signedOut": True})
    end_session(request, response)
    return response

"""Local mode only: ``POST /auth/dev-login`` picks an identity without an IdP."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import ValidationError

from changecast.access.models import Actor, Role
from changecast.errors import InvalidInputError, MalformedInputError, problems_from_pydantic
from changecast.ids import parse_customer_code
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
        raise MalformedInputError(f"unknown role {role[:40]!r}") from None
    if next_url.startswith("/") and not next_url.startswith("//"):
        response: Response = RedirectResponse(next_url, status_code=303)
    else:
        response = JSONResponse({"email": actor.email, "role": actor.role.value})
    get_codec(request).set_cookie(response, actor)
    return response


@router.post("/auth/logout", include_in_schema=False)
def logout(request: Request) -> Response:
    response = JSONResponse({"signedOut": True})
    get_codec(request).clear_cookie(response)
    return response

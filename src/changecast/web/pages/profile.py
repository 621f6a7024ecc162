"""Profile: who I am, my role, the customers I may act for, and my API tokens."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from changecast.access.models import Actor, Role
from changecast.access.policy import WRITERS, may_see_all_customers
from changecast.actions.tokens import create_token, revoke_token
from changecast.bootstrap import Runtime
from changecast.web.deps import CurrentActor, RuntimeDep, get_codec
from changecast.web.pages.signoff_view import feed_links
from changecast.web.pages.templating import render

router = APIRouter(include_in_schema=False)

ROLE_TEXT = {
    Role.CHANGE_MANAGER: "creates, submits, approves and edits changes for every customer",
    Role.CUSTOMER_MANAGER: "creates, submits, approves and edits changes for assigned customers",
    Role.READ_ONLY: "views changes but cannot create or act on them",
    Role.AUDITOR: "views every change, its versions and deliveries, and the audit trail",
}
TOKEN_DAYS = (30, 90, 180, 365)


def profile_context(runtime: Runtime, actor: Actor) -> dict[str, Any]:
    directory = runtime.directory
    rows = []
    acting: list[str] = []
    for code in directory.codes:
        mapping = directory.get(code)
        may_act = actor.role is Role.CHANGE_MANAGER or (
            actor.role is Role.CUSTOMER_MANAGER and code in actor.customers
        )
        may_view = may_see_all_customers(actor) or code in actor.customers
        rows.append({"mapping": mapping, "may_act": may_act, "may_view": may_view})
        if may_act:
            acting.append(code)
    return {
        "role_text": ROLE_TEXT[actor.role],
        "writer": actor.role in WRITERS,
        "rows": rows,
        "acting": acting,
        "tokens": runtime.tokens.owned_by(actor.email),
        "token_days": TOKEN_DAYS,
        "now": runtime.clock.now(),
        "feeds": feed_links(
            runtime,
            [c for c in directory.codes if may_see_all_customers(actor) or c in actor.customers],
        ),
    }


NEW_TOKEN_COOKIE = "changecast_new_token"
"""The token just created, for the one page that shows its secret (post/redirect/get)."""


@router.get("/profile", response_class=HTMLResponse)
def profile(request: Request, runtime: RuntimeDep, actor: CurrentActor) -> HTMLResponse:
    """The profile; right after a token is created, its secret, once (the cookie is cleared)."""
    context = profile_context(runtime, actor)
    shown = request.cookies.get(NEW_TOKEN_COOKIE, "")
    token_id, _, secret = shown.partition(" ")
    new = [t for t in context["tokens"] if shown and t.token_id == token_id]
    if new and secret.startswith("cc_"):
        context |= {"new_token": new[0], "new_secret": secret}
    response = render(request, "pages/profile.html", actor, context)
    if shown:
        response.delete_cookie(NEW_TOKEN_COOKIE, path="/profile", httponly=True)
        response.headers["cache-control"] = "no-store"
    return response


@router.post("/profile/tokens", response_class=HTMLResponse)
def create_api_token(
    request: Request,
    runtime: RuntimeDep,
    actor: CurrentActor,
    name: Annotated[str, Form(min_length=1, max_length=100)],
    expires_in_days: Annotated[int, Form(ge=1, le=365)] = 90,
) -> Response:
    """Create a token; the profile page it redirects to shows its secret once, never again.

    The secret rides in a short-lived cookie for that one page, so reloading the page (or going
    back) neither creates a second token nor shows the secret again.
    """
    token, secret = create_token(
        store=runtime.tokens,
        actor=actor,
        name=name,
        clock=runtime.clock,
        audit=runtime.audit,
        ttl_days=expires_in_days,
    )
    response = RedirectResponse("/profile#api-tokens", status_code=303)
    response.set_cookie(
        NEW_TOKEN_COOKIE,
        f"{token.token_id} {secret}",
        max_age=300,
        httponly=True,
        secure=get_codec(request).secure,
        samesite="strict",
        path="/profile",
    )
    return response


@router.post("/profile/tokens/{token_id}/revoke")
def revoke_api_token(token_id: str, runtime: RuntimeDep, actor: CurrentActor) -> Response:
    revoke_token(
        store=runtime.tokens,
        actor=actor,
        token_id=token_id,
        clock=runtime.clock,
        audit=runtime.audit,
    )
    return RedirectResponse("/profile#api-tokens", status_code=303)

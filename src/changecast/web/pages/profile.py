"""Profile: who I am, my role, the customers I may act for, and my API tokens."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from changecast.access.models import Actor, Role
from changecast.access.policy import WRITERS, may_see_all_customers
from changecast.actions.tokens import create_token, revoke_token
from changecast.bootstrap import Runtime
from changecast.web.deps import CurrentActor, RuntimeDep
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


@router.get("/profile", response_class=HTMLResponse)
def profile(request: Request, runtime: RuntimeDep, actor: CurrentActor) -> HTMLResponse:
    return render(request, "pages/profile.html", actor, profile_context(runtime, actor))


@router.post("/profile/tokens", response_class=HTMLResponse)
def create_api_token(
    request: Request,
    runtime: RuntimeDep,
    actor: CurrentActor,
    name: Annotated[str, Form(min_length=1, max_length=100)],
    expires_in_days: Annotated[int, Form(ge=1, le=365)] = 90,
) -> HTMLResponse:
    """Create a token and show its secret on this one page, never again."""
    token, secret = create_token(
        store=runtime.tokens,
        actor=actor,
        name=name,
        clock=runtime.clock,
        audit=runtime.audit,
        ttl_days=expires_in_days,
    )
    context = profile_context(runtime, actor) | {"new_token": token, "new_secret": secret}
    response = render(request, "pages/profile.html", actor, context, status=201)
    response.headers["cache-control"] = "no-store"
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

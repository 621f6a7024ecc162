"""API tokens: ``POST /api/tokens`` (the secret is shown once), list, and revoke."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from changecast.access.models import Actor
from changecast.access.tokens import ApiToken
from changecast.actions.tokens import create_token, revoke_token
from changecast.changes.models import single_line
from changecast.errors import PermissionDeniedError
from changecast.web.api.schemas import ERRORS, NewToken, TokenView
from changecast.web.deps import CurrentActor, RuntimeDep

router = APIRouter(prefix="/api", tags=["tokens"], responses=ERRORS)


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, AfterValidator(single_line)] = Field(min_length=1, max_length=100)
    expires_in_days: int | None = Field(default=90, alias="expiresInDays", ge=1, le=365)


def session_actor(request: Request, actor: CurrentActor) -> Actor:
    """Tokens are managed from a signed-in session: a token cannot mint or revoke tokens."""
    if "authorization" in request.headers:
        raise PermissionDeniedError("manage API tokens from a signed-in session, not with a token")
    return actor


SessionActor = Annotated[Actor, Depends(session_actor)]


def _view(token: ApiToken) -> dict[str, object]:
    return {
        "id": token.token_id,
        "name": token.name,
        "role": token.role,
        "customers": token.customers,
        "created_at": token.created_at,
        "expires_at": token.expires_at,
        "last_used_at": token.last_used_at,
        "revoked_at": token.revoked_at,
    }


@router.post("/tokens", status_code=status.HTTP_201_CREATED)
def create(body: TokenRequest, runtime: RuntimeDep, actor: SessionActor) -> NewToken:
    """A new token with your role and customers; ``token`` is shown this once, never again."""
    token, secret = create_token(
        store=runtime.tokens,
        actor=actor,
        name=body.name,
        clock=runtime.clock,
        audit=runtime.audit,
        ttl_days=body.expires_in_days,
    )
    return NewToken.model_validate({**_view(token), "token": secret})


@router.get("/tokens")
def mine(runtime: RuntimeDep, actor: SessionActor) -> list[TokenView]:
    """Your tokens, newest first (no secrets)."""
    return [
        TokenView.model_validate(_view(token)) for token in runtime.tokens.owned_by(actor.email)
    ]


@router.delete("/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke(token_id: str, runtime: RuntimeDep, actor: SessionActor) -> None:
    """Revoke one of your tokens; it stops working at once."""
    revoke_token(
        store=runtime.tokens,
        actor=actor,
        token_id=token_id,
        clock=runtime.clock,
        audit=runtime.audit,
    )

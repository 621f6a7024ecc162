"""Issuing and revoking API tokens, each recorded in the audit trail."""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta

from changecast.access.models import Actor
from changecast.access.tokens import (
    MAX_TOKENS_PER_USER,
    TOKEN_PREFIX,
    ApiToken,
    TokenStore,
    hash_token,
)
from changecast.audit.models import AuditAction
from changecast.audit.ports import AuditSink
from changecast.audit.service import new_event
from changecast.errors import ConflictError, InvalidInputError, NotFoundError
from changecast.ports import Clock
from changecast.text_input import checked

TOKEN_NAME_MAX = 100


def create_token(
    *,
    store: TokenStore,
    actor: Actor,
    name: str,
    clock: Clock,
    audit: AuditSink | None,
    ttl_days: int | None = 90,
) -> tuple[ApiToken, str]:
    """A new token of ``actor``'s, capped at their role and customers now; returns its secret."""
    name = checked(name, field="name").strip()  # checked first: a trailing CR/LF is refused
    if not 1 <= len(name) <= TOKEN_NAME_MAX:
        raise InvalidInputError(f"name: 1 to {TOKEN_NAME_MAX} characters", field="name")
    active = [t for t in store.owned_by(actor.email) if t.active(clock.now())]
    if len(active) >= MAX_TOKENS_PER_USER:
        raise ConflictError(f"you have {MAX_TOKENS_PER_USER} active tokens; revoke one first")
    now = clock.now()
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        token_id=str(uuid.uuid4()),
        name=name,
        email=actor.email,
        display_name=actor.display_name,
        role=actor.role,
        customers=sorted(actor.customers),
        created_at=now,
        expires_at=now + timedelta(days=ttl_days) if ttl_days else None,
    )
    store.add(token, hash_token(secret))
    _audit(audit, actor, AuditAction.TOKEN_CREATE, token, clock)
    return token, secret


def revoke_token(
    *, store: TokenStore, actor: Actor, token_id: str, clock: Clock, audit: AuditSink | None
) -> ApiToken:
    """Revoke one of ``actor``'s own tokens (someone else's is "not found")."""
    mine = {t.token_id: t for t in store.owned_by(actor.email)}
    token = mine.get(token_id)
    if token is None:
        raise NotFoundError(f"you have no token {token_id[:40]}")
    if token.revoked_at is None:
        store.revoke(token_id, clock.now())
        _audit(audit, actor, AuditAction.TOKEN_REVOKE, token, clock)
    return token


def _audit(
    audit: AuditSink | None, actor: Actor, action: AuditAction, token: ApiToken, clock: Clock
) -> None:
    if audit is not None:
        detail = {"token_id": token.token_id, "token_name": token.name}
        audit.record(new_event(actor=actor, action=action, clock=clock, detail=detail))

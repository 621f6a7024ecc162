"""API tokens for automation: shown once, stored as a SHA-256 hash, scoped to a role, revocable."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from changecast.access.models import Actor, Role
from changecast.audit.models import AuditAction
from changecast.audit.ports import AuditSink
from changecast.audit.service import new_event
from changecast.errors import ConflictError, NotFoundError
from changecast.ports import Clock

TOKEN_PREFIX = "cc_"
MAX_TOKENS_PER_USER = 20


class ApiToken(BaseModel):
    """What is kept about a token (never its secret)."""

    model_config = ConfigDict(frozen=True)

    token_id: str
    name: str = Field(min_length=1, max_length=100)
    email: str
    display_name: str = ""
    role: Role
    customers: list[str] = []
    created_at: datetime
    expires_at: datetime | None = None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None

    def active(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)

    def actor(self, source_ip: str | None = None) -> Actor:
        return Actor(
            email=self.email,
            display_name=self.display_name,
            role=self.role,
            customers=frozenset(self.customers),
            source_ip=source_ip,
        )


class TokenStore(Protocol):
    """Where tokens are kept (the index database)."""

    def add(self, token: ApiToken, token_hash: str) -> None: ...

    def by_hash(self, token_hash: str) -> ApiToken | None: ...

    def owned_by(self, email: str) -> list[ApiToken]:
        """The tokens of one user, newest first."""
        ...

    def revoke(self, token_id: str, at: datetime) -> None: ...

    def touch(self, token_id: str, at: datetime) -> None:
        """Remember when the token was last used."""
        ...


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_token(
    *,
    store: TokenStore,
    actor: Actor,
    name: str,
    clock: Clock,
    audit: AuditSink | None,
    ttl_days: int | None = 90,
) -> tuple[ApiToken, str]:
    """A new token carrying ``actor``'s role and customers; returns it with its secret."""
    active = [t for t in store.owned_by(actor.email) if t.active(clock.now())]
    if len(active) >= MAX_TOKENS_PER_USER:
        raise ConflictError(f"you have {MAX_TOKENS_PER_USER} active tokens; revoke one first")
    now = clock.now()
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        token_id=str(uuid.uuid4()),
        name=name.strip(),
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


def authenticate(*, store: TokenStore, secret: str, clock: Clock) -> ApiToken | None:
    """The active token with this secret, or None (unknown, revoked or expired)."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    token = store.by_hash(hash_token(secret))
    now = clock.now()
    if token is None or not token.active(now):
        return None
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        store.touch(token.token_id, now)
    return token


def _audit(
    audit: AuditSink | None, actor: Actor, action: AuditAction, token: ApiToken, clock: Clock
) -> None:
    if audit is not None:
        detail = {"token_id": token.token_id, "token_name": token.name}
        audit.record(new_event(actor=actor, action=action, clock=clock, detail=detail))

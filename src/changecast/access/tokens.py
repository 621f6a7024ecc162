"""API tokens for automation: shown once, stored as a SHA-256 hash, revocable.

A token acts as its owner: on every request its role and customers are the owner's current ones
(``access.users``). The role and customers stored with it (the creator's, at creation) are only a
ceiling: they can narrow what the owner may do with the token, never widen it. Demoting the owner
narrows the token; removing the owner, or a demotion the ceiling cannot express, ends it.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from changecast.access.models import Actor, Role
from changecast.access.users import KnownUser
from changecast.errors import PermissionDeniedError
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

    def actor(self, owner: KnownUser | None, source_ip: str | None = None) -> Actor:
        """The owner as they are now, within this token's ceiling; ``TokenEndedError`` if none."""
        if owner is None or owner.email != self.email.strip().lower():
            raise TokenEndedError(
                f"the token's owner {self.email} has no current access here; they must sign in "
                "to the portal once (tokens follow their owner's current role)"
            )
        if not owner.active:
            raise TokenEndedError(f"the token's owner {self.email} was removed")
        scope = narrowest(
            (owner.role, frozenset(owner.customers)), (self.role, frozenset(self.customers))
        )
        if scope is None:
            raise TokenEndedError(
                f"the token's owner {self.email} is now {owner.role.value}, which this token "
                f"(made as {self.role.value}) cannot narrow to; make a new token"
            )
        return Actor(
            email=owner.email,
            display_name=owner.display_name or self.display_name,
            role=scope[0],
            customers=scope[1],
            source_ip=source_ip,
        )


class TokenEndedError(PermissionDeniedError):
    """The token is genuine but its owner can no longer use it (the web layer answers 401)."""


Grant = tuple[Role, frozenset[str]]


def narrowest(current: Grant, ceiling: Grant) -> Grant | None:
    """What both grants allow, as one role; None when no role is within both.

    ChangeManager > CustomerManager (of some customers) and ChangeManager > ReadOnly; Auditors
    read everything, the audit trail too, and write nothing, so Auditor > ReadOnly, and what a
    ChangeManager and an Auditor share is ReadOnly. A CustomerManager's reads are limited to their
    customers, so nothing is within both CustomerManager and ReadOnly or Auditor.
    """
    (role_a, codes_a), (role_b, codes_b) = current, ceiling
    if role_a is role_b:
        if role_a is not Role.CUSTOMER_MANAGER:
            return role_a, frozenset()
        shared = codes_a & codes_b
        return (role_a, shared) if shared or not (codes_a or codes_b) else None
    pair = {role_a, role_b}
    if Role.CHANGE_MANAGER in pair:
        other = role_b if role_a is Role.CHANGE_MANAGER else role_a
        if other is Role.AUDITOR:
            return Role.READ_ONLY, frozenset()
        return other, codes_b if role_a is Role.CHANGE_MANAGER else codes_a
    if pair == {Role.AUDITOR, Role.READ_ONLY}:
        return Role.READ_ONLY, frozenset()
    return None


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

"""Who may use changecast now: each user's current role and customers, as last granted.

A sign-in (SAML groups, or dev login in local mode) records the grant it gave; an operator can
change or withdraw it (``changecast users``). API tokens act with their owner's current grant, read
from here on every request, so demoting or removing a person narrows or ends their tokens at once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from changecast.access.models import Actor, Role
from changecast.errors import NotFoundError


class KnownUser(BaseModel):
    """One person's current grant (emails are kept lower-cased)."""

    model_config = ConfigDict(frozen=True)

    email: str = Field(min_length=3, max_length=200)
    display_name: str = Field(default="", max_length=200)
    role: Role
    customers: list[str] = []
    updated_at: datetime
    updated_by: str = Field(default="sign-in", max_length=200)
    """``sign-in`` or the operator who last changed the grant."""
    disabled_at: datetime | None = None
    """Set when the person was removed: their tokens stop working."""

    @property
    def active(self) -> bool:
        return self.disabled_at is None


class UserStore(Protocol):
    """Where current grants are kept (the index database)."""

    def get(self, email: str) -> KnownUser | None:
        """The user with this email (any case), or None if never seen."""
        ...

    def put(self, user: KnownUser) -> None:
        """Insert or replace the user's record."""
        ...

    def all(self) -> list[KnownUser]:
        """Every known user, by email."""
        ...


def record_grant(store: UserStore, actor: Actor, *, at: datetime, by: str = "sign-in") -> KnownUser:
    """Remember ``actor``'s role and customers as the current ones (re-enabling a removed user)."""
    user = KnownUser(
        email=actor.email.strip().lower(),
        display_name=actor.display_name,
        role=actor.role,
        customers=sorted(actor.customers),
        updated_at=at,
        updated_by=by,
    )
    store.put(user)
    return user


def disable_user(store: UserStore, email: str, *, at: datetime, by: str) -> KnownUser:
    """Withdraw a person's access: their API tokens answer 401 from the next request on."""
    user = store.get(email)
    if user is None:
        raise NotFoundError(f"no known user {email[:200]}")
    disabled = user.model_copy(update={"disabled_at": at, "updated_at": at, "updated_by": by})
    store.put(disabled)
    return disabled

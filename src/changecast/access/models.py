"""The acting user and the roles of changecast."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Role(StrEnum):
    """Roles, mapped from SAML groups (or chosen at dev login in local mode)."""

    CHANGE_MANAGER = "ChangeManager"
    CUSTOMER_MANAGER = "CustomerManager"
    READ_ONLY = "ReadOnly"
    AUDITOR = "Auditor"


class Actor(BaseModel):
    """Whoever performs a use case: a person in the portal, a CLI operator, or a token."""

    model_config = ConfigDict(frozen=True)

    email: str = Field(min_length=3, max_length=200)
    display_name: str = Field(default="", max_length=200)
    role: Role
    customers: frozenset[str] = frozenset()
    source_ip: str | None = Field(default=None, max_length=100)
    """Where the request came from (filled by the web layer; None for the CLI)."""

    @property
    def label(self) -> str:
        return self.display_name or self.email

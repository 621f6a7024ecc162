"""Settings of sign-in: the SAML service provider, and how IdP groups map to roles.

Environment: ``CHANGECAST_SAML__IDP_ENTITY_ID``, ``CHANGECAST_SAML__ROLES__AUDITOR_GROUPS``, …
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import NoDecode

CommaList = Annotated[list[str], NoDecode]
"""A list given in the environment as ``a,b,c`` (or a JSON array)."""


def split_list(value: object) -> object:
    """``"a, b"`` → ``["a", "b"]``; JSON arrays and lists pass through."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            import json

            return json.loads(text)
        return [part.strip() for part in text.split(",") if part.strip()]
    return value


class RoleMappingSettings(BaseModel):
    """Which IdP groups (names or IDs, as the IdP sends them) give which role.

    The strongest role wins: ChangeManager, then CustomerManager, Auditor, ReadOnly.
    """

    change_manager_groups: CommaList = ["ccoe-change-managers"]
    auditor_groups: CommaList = ["ccoe-auditors"]
    read_only_groups: CommaList = ["ccoe-readonly"]
    customer_manager_pattern: str = Field(default="ccoe-customer-{code}", max_length=200)
    """A group named like this grants CustomerManager for customer ``{code}``; "" disables it."""
    customer_manager_groups: dict[str, CommaList] = {}
    """Group (name or ID) → customer codes it grants, for IdPs that send group IDs."""

    _split = field_validator(
        "change_manager_groups", "auditor_groups", "read_only_groups", mode="before"
    )(split_list)

    @field_validator("customer_manager_pattern")
    @classmethod
    def _one_placeholder(cls, value: str) -> str:
        if value and value.count("{code}") != 1:
            raise ValueError("the pattern must contain {code} exactly once")
        return value

    @field_validator("customer_manager_groups", mode="before")
    @classmethod
    def _split_codes(cls, value: object) -> object:
        if isinstance(value, dict):
            return {group: split_list(codes) for group, codes in value.items()}
        return value


class SamlSettings(BaseModel):
    """The SAML 2.0 service provider (python3-saml) and the IdP it trusts."""

    sp_entity_id: str | None = Field(default=None, max_length=500)
    """Default: ``{portal_base_url}/saml/metadata``."""
    acs_url: str | None = Field(default=None, pattern=r"^https?://[^\s]+$", max_length=500)
    """Default: ``{portal_base_url}/saml/acs``."""
    idp_entity_id: str | None = Field(default=None, max_length=500)
    idp_sso_url: str | None = Field(default=None, pattern=r"^https?://[^\s]+$", max_length=1000)
    idp_slo_url: str | None = Field(default=None, pattern=r"^https?://[^\s]+$", max_length=1000)
    idp_cert: str | None = Field(default=None, max_length=20_000)
    """The IdP's signing certificate (PEM, or the base64 body alone)."""
    idp_metadata_file: Path | None = None
    """The IdP's metadata XML; fills entity id, SSO URL and certificate when those are unset."""
    idp_metadata_url: str | None = Field(
        default=None,
        pattern=r"^(https://[^\s]+|s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/[^\s]+)$",
        max_length=2000,
    )
    """``https://…`` (IAM Identity Center's metadata URL) or ``s3://bucket/key``: fetched once at
    the portal's start into ``idp_metadata_xml``."""
    idp_metadata_xml: str | None = Field(default=None, max_length=1_000_000)
    """The IdP's metadata XML itself (given, or fetched from ``idp_metadata_url``)."""
    email_attribute: str = Field(default="email", min_length=1, max_length=200)
    name_attribute: str = Field(default="name", min_length=1, max_length=200)
    groups_attribute: str = Field(default="groups", min_length=1, max_length=200)
    allowed_email_domains: CommaList = []
    """Only these email domains may sign in; empty allows any domain the IdP vouches for."""
    clock_skew_seconds: int = Field(default=120, ge=0, le=600)
    request_ttl_seconds: int = Field(default=600, ge=60, le=3600)
    """How long an SP-initiated sign-in may take between /saml/login and /saml/acs."""
    roles: RoleMappingSettings = Field(default_factory=RoleMappingSettings)

    @field_validator("allowed_email_domains", mode="before")
    @classmethod
    def _domains(cls, value: object) -> object:
        value = split_list(value)
        if isinstance(value, list):
            return [str(v).strip().lower().lstrip("@") for v in value if str(v).strip()]
        return value

    @property
    def configured(self) -> bool:
        """Whether enough is set to trust an IdP."""
        if self.idp_metadata_file is not None or self.idp_metadata_xml or self.idp_metadata_url:
            return True
        return bool(self.idp_entity_id and self.idp_sso_url and self.idp_cert)

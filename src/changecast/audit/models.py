"""Audit events and the queries Auditors browse them with."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from changecast.access.models import Role

_API_OUT = ConfigDict(frozen=True, alias_generator=to_camel, populate_by_name=True)


class AuditAction(StrEnum):
    """What was done. The change actions share their names with ``changes.models.Action``."""

    CREATE = "create"
    EDIT = "edit"
    SUBMIT = "submit"
    APPROVE = "approve"
    REJECT = "reject"
    COMPLETE = "complete"
    CANCEL = "cancel"
    DELETE_DRAFT = "delete_draft"
    RETRY = "retry"
    SIGN_IN = "sign_in"
    SIGN_OUT = "sign_out"
    TOKEN_CREATE = "token_create"
    TOKEN_REVOKE = "token_revoke"
    AUDIT_EXPORT = "audit_export"
    SIGNOFF = "signoff"
    """A customer contact answered an approval request by signed link (decision in ``detail``)."""
    FEED_TOKEN_ROTATE = "feed_token_rotate"
    REQUEST = "request"
    """Any other state-changing request (method and path in ``detail``)."""


class AuditEvent(BaseModel):
    """One action: who (email, role), what, when, from which address, on which change version.

    Stored (S3 ``audit/``, the index) in snake_case, as always; the API serves it camelCase.
    """

    model_config = _API_OUT

    event_id: str = Field(pattern=r"^[0-9a-f-]{36}$")
    at: datetime
    actor: str = Field(max_length=200)
    role: Role
    source_ip: str | None = Field(default=None, max_length=100)
    action: AuditAction
    change_id: str | None = Field(default=None, max_length=36)
    version: int | None = None
    customers: list[str] = []
    changed_fields: list[str] = []
    """For edits: the JSON paths whose value changed (``changeMetadata.title``)."""
    status_from: str | None = None
    status_to: str | None = None
    comment: str | None = Field(default=None, max_length=2_000)
    detail: dict[str, str] = {}


class AuditQuery(BaseModel):
    """Filters of the audit trail; instants are inclusive from, exclusive to."""

    model_config = ConfigDict(frozen=True)

    starts_from: datetime | None = None
    ends_before: datetime | None = None
    actor: str | None = None
    change_id: str | None = None
    action: AuditAction | None = None
    page: int = Field(default=1, ge=1)
    page_size: int = Field(default=50, ge=1, le=500)


class AuditPage(BaseModel):
    """One page of events, newest first."""

    model_config = _API_OUT

    items: list[AuditEvent]
    total: int
    page: int
    page_size: int

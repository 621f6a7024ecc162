"""Response models of the JSON API: every answer is camelCase, like the change documents.

Python names are snake_case; ``alias_generator=to_camel`` gives the wire names, and FastAPI
serializes responses by alias. The OpenAPI document is generated from these models, so the schema
is what is served (schemathesis holds the API to it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer
from pydantic.alias_generators import to_camel

from changecast.access.models import Role
from changecast.changes.models import Change, ChangeStatus, Timestamp
from changecast.distribution.models import DistributionReport


class ApiModel(BaseModel):
    """camelCase on the wire, snake_case in Python, immutable."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)


class Health(ApiModel):
    status: Literal["ok"]
    mode: str


class ReadinessCheck(ApiModel):
    ok: bool
    detail: str


class Readiness(ApiModel):
    """200 with ``ready``, 503 with ``not_ready`` and the checks that failed."""

    status: Literal["ready", "not_ready"]
    failed: list[str]
    checks: dict[str, ReadinessCheck]


class CustomerView(ApiModel):
    code: str
    name: str
    environment: str
    production: bool
    may_act: bool


class SessionView(ApiModel):
    email: str
    display_name: str
    role: Role
    customers: list[str]
    authenticated_by: Literal["token", "session"]
    csrf_token: str = Field(description="Send it in X-CSRF-Token on cookie-authenticated writes")


class TokenView(ApiModel):
    id: str
    name: str
    role: Role
    customers: list[str]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class NewToken(TokenView):
    token: str = Field(description="The secret: shown this once, never again")


class Redelivery(ApiModel):
    change_id: str
    customer: str
    queued: list[str]


class ChangeSummaryView(ApiModel):
    """What a CustomerManager sees of a change that also names another customer."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid"
    )

    change_id: str
    version: int
    status: ChangeStatus
    title: str
    customer_codes: list[str]
    customer_names: list[str]
    created_at: Timestamp
    modified_at: Timestamp
    implementation_start_utc: Timestamp | None = None
    implementation_end_utc: Timestamp | None = None
    visibility: Literal["summary"]


class _WithChange(ApiModel):
    """Serializes its ``change`` exactly as GET does (the stored document, no null fields)."""

    @model_serializer(mode="wrap")
    def _document(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        change = getattr(self, "change", None)
        if isinstance(data, dict) and isinstance(change, Change):
            data["change"] = change.to_json_dict()
        return data


class ActionOutcome(_WithChange):
    """The change after the action, and the triggers it wrote (``complete``: none missing)."""

    change: Change
    distribution: DistributionReport | None = None
    complete: bool
    warnings: list[str] = []
    """What the person should know though nothing was refused (a window already over)."""


class RetryOutcome(ApiModel):
    """``retry``: the triggers written again."""

    distribution: DistributionReport
    complete: bool


class FieldProblemView(ApiModel):
    model_config = ConfigDict(frozen=True, extra="allow")

    field: str
    problem: str


class GateFindingView(ApiModel):
    """What a gate found (``actions.gates.GateFinding``); blocking ones refuse the action."""

    gate: str
    message: str
    customer_code: str | None = None
    blocking: bool = True


class ErrorDetail(ApiModel):
    kind: str
    message: str
    details: list[FieldProblemView]
    latest_version: int | None = None
    findings: list[GateFindingView] | None = None
    """A 409 from a gate: its findings (send ``overrides`` to act past them)."""


class ErrorBody(ApiModel):
    """Every error: ``{"error": {"kind", "message", "details"}}``.

    409s add ``latestVersion`` (a stale version) or ``findings`` (refused by a gate).
    """

    error: ErrorDetail


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


ERRORS: dict[int | str, dict[str, Any]] = {
    400: _error("Malformed request (bad JSON, a bad path parameter)"),
    401: _error("Not signed in"),
    403: _error("Not allowed for your role or customers"),
    404: _error("Not found"),
    409: _error("Conflicts with the current state (a stale version, another change)"),
    422: _error("Invalid input; ``details`` names each field"),
}
"""The error answers every API operation may give, declared once for the OpenAPI document."""

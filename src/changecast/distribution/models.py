"""The trigger written to ``customers/{code}/…`` and the per-customer result of writing it."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from changecast.changes.models import Timestamp
from changecast.delivery.models import DistributionEvent
from changecast.ids import CUSTOMER_CODE_PATTERN

_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
TRIGGER_KEY = re.compile(
    rf"^customers/([a-z0-9][a-z0-9-]{{0,31}})/({_UUID})-v(\d+)-([a-z]+)\.json$"
)
TRIGGER_KIND = "changecast.trigger"


def trigger_key(customer_code: str, change_id: str, version: int, event: DistributionEvent) -> str:
    """``customers/{code}/{changeId}-v{n}-{event}.json``: one per customer, version and event."""
    return f"customers/{customer_code}/{change_id}-v{version}-{event.value}.json"


class Trigger(BaseModel):
    """The body of a trigger object. The worker loads ``archiveKey`` and routes by ``event``."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, frozen=True, extra="ignore"
    )

    kind: str = Field(default=TRIGGER_KIND, pattern=rf"^{re.escape(TRIGGER_KIND)}$")
    schema_version: int = Field(default=1, ge=1, le=1)
    change_id: str = Field(pattern=rf"^{_UUID}$")
    version: int = Field(ge=1)
    event: DistributionEvent
    customer_code: str = Field(pattern=CUSTOMER_CODE_PATTERN)
    archive_key: str = Field(max_length=300)
    was_approved: bool = False
    invite_sent: bool = False
    replaces_version: int | None = Field(default=None, ge=1)
    """The approved version that this one replaces (submitted, updated, withdrawn): the worker
    loads it from the archive to show what changed, or which schedule is withdrawn. Absent in
    older triggers; the worker then derives it from the version's history."""
    actor: str = Field(max_length=200)
    created_at: Timestamp

    @property
    def key(self) -> str:
        return trigger_key(self.customer_code, self.change_id, self.version, self.event)

    def to_bytes(self) -> bytes:
        return self.model_dump_json(by_alias=True).encode()


class TriggerOutcome(StrEnum):
    """What happened when writing one trigger."""

    WRITTEN = "written"
    ALREADY_PRESENT = "already_present"
    FAILED = "failed"


class CustomerResult(BaseModel):
    """One customer's result of a distribution."""

    model_config = ConfigDict(frozen=True, alias_generator=to_camel, populate_by_name=True)

    customer_code: str
    event: DistributionEvent
    key: str
    outcome: TriggerOutcome
    detail: str = ""
    at: datetime | None = None


class DistributionReport(BaseModel):
    """Every customer's result; ``complete`` when no trigger is missing."""

    model_config = ConfigDict(frozen=True, alias_generator=to_camel, populate_by_name=True)

    change_id: str
    version: int
    results: list[CustomerResult] = Field(default_factory=list)

    @property
    def complete(self) -> bool:
        return all(r.outcome is not TriggerOutcome.FAILED for r in self.results)

    @property
    def failed_customers(self) -> list[str]:
        return sorted({r.customer_code for r in self.results if r.outcome is TriggerOutcome.FAILED})

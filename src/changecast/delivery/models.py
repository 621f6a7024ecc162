"""What a delivery run reports: per customer, per change version and event."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class DistributionEvent(StrEnum):
    """Why customers are being written to: one trigger per customer per event."""

    SUBMITTED = "submitted"
    APPROVED = "approved"
    UPDATED = "updated"
    WITHDRAWN = "withdrawn"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


SHOWS_REPLACED = frozenset(
    {DistributionEvent.SUBMITTED, DistributionEvent.UPDATED, DistributionEvent.WITHDRAWN}
)
"""The events whose email needs the approved version being replaced (a diff or a withdrawal)."""


class ExecutionStatus(StrEnum):
    """The outcome of one trigger for one customer."""

    DELIVERED = "delivered"
    PARTIAL = "partial"
    FAILED = "failed"


class _Wire(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, frozen=True, extra="ignore"
    )


class DeliveryFailure(_Wire):
    """One recipient (or the whole run, with ``recipient=None``) that could not be served."""

    recipient: str | None = None
    reason: str = Field(max_length=2_000)


class ExecutionRecord(_Wire):
    """What one worker did for one trigger: ``executions/{id}/v{n}/{code}.json`` holds these."""

    change_id: str
    version: int = Field(ge=1)
    customer_code: str
    event: DistributionEvent
    status: ExecutionStatus
    recipients: int = Field(default=0, ge=0)
    sent: int = Field(default=0, ge=0)
    already_sent: int = Field(default=0, ge=0)
    filtered: int = Field(default=0, ge=0)
    failed: int = Field(default=0, ge=0)
    failures: list[DeliveryFailure] = Field(default_factory=list)
    started_at: datetime
    finished_at: datetime
    dead_lettered: bool = False
    """The trigger's message went to the DLQ (``changecast worker redrive`` brings it back)."""


class ExecutionDocument(_Wire):
    """The JSON at ``executions/{changeId}/v{n}/{code}.json``: a record per event."""

    change_id: str
    version: int = Field(ge=1)
    customer_code: str
    events: dict[DistributionEvent, ExecutionRecord] = Field(default_factory=dict)


def execution_key(change_id: str, version: int, customer_code: str) -> str:
    """Where a worker writes its results for one version and customer."""
    return f"executions/{change_id}/v{version}/{customer_code}.json"

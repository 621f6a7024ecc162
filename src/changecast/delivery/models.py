"""What a delivery run reports: per customer, per change version and event."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from changecast.distribution.models import DistributionEvent


class ExecutionStatus(StrEnum):
    """The outcome of one trigger for one customer."""

    DELIVERED = "delivered"
    PARTIAL = "partial"
    FAILED = "failed"
    SUPERSEDED = "superseded"
    """Sent nothing: the change had moved past the trigger (``delivery.currency``); never a
    failure. ``supersededBy`` says what superseded it."""


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
    superseded_by: str | None = Field(default=None, max_length=2_000)
    """For a ``superseded`` record: what superseded the trigger (``delivery.currency``)."""


class ExecutionDocument(_Wire):
    """The JSON at ``executions/{changeId}/v{n}/{code}.json``: a record per event."""

    change_id: str
    version: int = Field(ge=1)
    customer_code: str
    events: dict[DistributionEvent, ExecutionRecord] = Field(default_factory=dict)


OUTCOME_COUNTS = ("delivered", "bounced", "complained")
"""The SES outcomes the read model counts per delivery (from the ledger, by the events worker)."""


class DeliveryRecord(_Wire):
    """One row of the delivery read model: a customer's delivery of one event of one version.

    The worker writes the run's counts (``status`` is None until it has: the SES events worker
    may count outcomes first); the SES events worker sets ``delivered``, ``bounced`` and
    ``complained``. Rebuilt from ``executions/`` (outcome counts come back with SES events).
    """

    change_id: str
    version: int = Field(ge=1)
    customer_code: str
    event: DistributionEvent
    status: ExecutionStatus | None = None
    recipients: int = Field(default=0, ge=0)
    sent: int = Field(default=0, ge=0)
    already_sent: int = Field(default=0, ge=0)
    filtered: int = Field(default=0, ge=0)
    failed: int = Field(default=0, ge=0)
    delivered: int = Field(default=0, ge=0)
    bounced: int = Field(default=0, ge=0)
    complained: int = Field(default=0, ge=0)
    reason: str | None = None
    """Why the delivery (or its first refused recipient) failed, or what superseded it (status
    ``superseded``); None when nothing failed."""
    failures: list[DeliveryFailure] = Field(default_factory=list)
    dead_lettered: bool = False
    started_at: datetime | None = None
    finished_at: datetime | None = None
    updated_at: datetime

    @property
    def skipped(self) -> int:
        """Recipients not sent this run: already sent by an earlier one, or not subscribed."""
        return self.already_sent + self.filtered


SES_BOUNCE_REVIEW = 0.05
"""SES puts an account under review at a 5% bounce rate (and may pause sending at 10%)."""
SES_COMPLAINT_REVIEW = 0.001
"""SES puts an account under review at a 0.1% complaint rate (and may pause sending at 0.5%)."""
RATES_PERIOD_DAYS = 30


class CustomerRates(_Wire):
    """One customer's delivery outcomes over a period (the dashboard's bounce and complaint rates).

    ``sent`` counts every message of the period's deliveries (this run's and earlier runs').
    """

    customer_code: str
    sent: int = 0
    delivered: int = 0
    bounced: int = 0
    complained: int = 0

    @property
    def bounce_rate(self) -> float | None:
        """Bounces per message sent, or None when nothing was sent."""
        return self.bounced / self.sent if self.sent else None

    @property
    def complaint_rate(self) -> float | None:
        return self.complained / self.sent if self.sent else None

    @property
    def bounce_alarm(self) -> bool:
        """At or above SES's review threshold for bounces."""
        return (self.bounce_rate or 0) >= SES_BOUNCE_REVIEW

    @property
    def complaint_alarm(self) -> bool:
        return (self.complaint_rate or 0) >= SES_COMPLAINT_REVIEW


def failure_reason(record: ExecutionRecord) -> str | None:
    """Pure: the reason a record shows; the run's own failure first, else its first recipient's.

    A superseded record shows what superseded it.
    """
    if record.status is ExecutionStatus.SUPERSEDED:
        return f"superseded by {record.superseded_by or 'a later state of the change'}"[:2_000]
    reasons = [f.reason for f in record.failures if f.recipient is None]
    if not reasons and record.status is not ExecutionStatus.DELIVERED:
        reasons = [f.reason for f in record.failures[:1]]
    return "; ".join(reasons)[:2_000] or None


def delivery_record(record: ExecutionRecord) -> DeliveryRecord:
    """Pure: the read-model row of ``record`` (no outcome counted yet)."""
    return DeliveryRecord(
        change_id=record.change_id,
        version=record.version,
        customer_code=record.customer_code,
        event=record.event,
        status=record.status,
        recipients=record.recipients,
        sent=record.sent,
        already_sent=record.already_sent,
        filtered=record.filtered,
        failed=record.failed,
        reason=failure_reason(record),
        failures=list(record.failures),
        dead_lettered=record.dead_lettered,
        started_at=record.started_at,
        finished_at=record.finished_at,
        updated_at=record.finished_at,
    )

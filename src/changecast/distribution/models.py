"""The trigger written to ``customers/{code}/…`` and the per-customer result of writing it."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from changecast import layout
from changecast.changes.models import Change, Timestamp
from changecast.ids import CUSTOMER_CODE_PATTERN


class DistributionEvent(StrEnum):
    """Why customers are being written to: one trigger per customer per event."""

    SUBMITTED = "submitted"
    APPROVED = "approved"
    UPDATED = "updated"
    WITHDRAWN = "withdrawn"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    REMINDER = "reminder"
    """Written by the scheduler: the window opens within the customer's reminder lead."""
    WINDOW_OPEN = "window_open"
    WINDOW_CLOSED = "window_closed"
    NUDGE = "nudge"
    """To the change's creator and last editor: the window closed, the change is still open."""
    SURVEY = "survey"
    """After completion: each announcement recipient's own link to rate how the change went."""


SCHEDULED = frozenset(
    {
        DistributionEvent.REMINDER,
        DistributionEvent.WINDOW_OPEN,
        DistributionEvent.WINDOW_CLOSED,
        DistributionEvent.NUDGE,
    }
)
"""The events the scheduler writes (``distribution.schedule``), not an action."""


SHOWS_REPLACED = frozenset(
    {DistributionEvent.SUBMITTED, DistributionEvent.UPDATED, DistributionEvent.WITHDRAWN}
)
"""The events whose email needs the approved version being replaced (a diff or a withdrawal)."""


def invite_changed(before: Change, after: Change) -> bool:
    """Whether the invite a customer holds would differ: schedule or meeting invite changed.

    Compared as JSON values, so an input model (``ScheduleInput``) equals the stored one.
    """

    def values(change: Change) -> tuple[object, object]:
        schedule, meeting = change.change_metadata.schedule, change.meeting_invite
        return (
            None if schedule is None else schedule.model_dump(mode="json"),
            None if meeting is None else meeting.model_dump(mode="json", exclude_none=True),
        )

    return values(before) != values(after)


TRIGGER_KIND = "changecast.trigger"


class Trigger(BaseModel):
    """The body of a trigger object. The worker loads ``archiveKey`` and routes by ``event``."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, frozen=True, extra="ignore"
    )

    kind: str = Field(default=TRIGGER_KIND, pattern=rf"^{re.escape(TRIGGER_KIND)}$")
    schema_version: int = Field(default=1, ge=1, le=1)
    change_id: str = Field(pattern=rf"^{layout.UUID}$")
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
    reason: str | None = Field(default=None, max_length=2_000)
    """A cancellation's or withdrawal's comment (the cancel or reject action's): the email
    tells customers why. Absent in older triggers and for every other event."""

    @property
    def key(self) -> str:
        return layout.trigger_key(
            self.customer_code, self.change_id, self.version, self.event.value
        )

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

"""The change record in the seeds' "Enhanced Metadata Format" (camelCase JSON), plus query shapes.

Stored documents are read leniently (unknown fields are kept, so documents written by other tools
round-trip); the input models used by the API and the CLI refuse unknown fields.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from changecast.changes.wall_clock import fold_note, gap_message, instant, with_offset
from changecast.ids import CUSTOMER_CODE_PATTERN
from changecast.text_input import lines, one_line

TITLE_MAX = 200
SHORT_TEXT_MAX = 200
OVERRIDE_REASON_MAX = 500
"""The longest reason an override of a gate may give."""
LONG_TEXT_MAX = 20_000
TICKET_MAX = 64
MAX_CUSTOMERS = 100


class ChangeStatus(StrEnum):
    """Where a change is in its life."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class Action(StrEnum):
    """What a user can do to a change."""

    CREATE = "create"
    SUBMIT = "submit"
    APPROVE = "approve"
    REJECT = "reject"
    COMPLETE = "complete"
    CANCEL = "cancel"
    EDIT = "edit"


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _iso_z(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


Timestamp = Annotated[
    datetime, AfterValidator(_utc), PlainSerializer(_iso_z, return_type=str, when_used="json")
]
"""A UTC instant, written as ``2025-09-20T15:30:00Z``."""


def _local_minute(value: datetime) -> datetime:
    if value.tzinfo is not None:
        raise ValueError("must be a local time without an offset, like 2025-09-20T10:00")
    return value.replace(second=0, microsecond=0)


LocalDateTime = Annotated[
    datetime,
    AfterValidator(_local_minute),
    PlainSerializer(lambda v: v.strftime("%Y-%m-%dT%H:%M"), return_type=str, when_used="json"),
]
"""A wall-clock time in the schedule's timezone, written as ``2025-09-20T10:00``."""

HourMinute = Annotated[
    time, PlainSerializer(lambda v: v.strftime("%H:%M"), return_type=str, when_used="json")
]

ShortText = Annotated[str, Field(max_length=SHORT_TEXT_MAX)]
LongText = Annotated[str, Field(max_length=LONG_TEXT_MAX)]


def check_timezone(name: str) -> str:
    """A real IANA timezone name (``America/New_York``), not an abbreviation."""
    if name in {"UTC", "Etc/UTC"}:
        return name
    if "/" not in name or name.startswith(("Etc/", "SystemV/")):
        raise ValueError(
            f"{name[:60]!r} is not an IANA Area/Location timezone such as America/New_York"
        )
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{name[:60]!r} is not an IANA timezone such as America/New_York"
        ) from None
    if name not in _zones():
        raise ValueError(f"{name[:60]!r} is not an IANA timezone such as America/New_York")
    return name


_ZONES: frozenset[str] | None = None


def _zones() -> frozenset[str]:
    global _ZONES  # noqa: PLW0603 - computed once, on first use, not at import
    if _ZONES is None:
        _ZONES = frozenset(available_timezones())
    return _ZONES


def timezone_names() -> list[str]:
    """Every IANA timezone name, sorted (for forms)."""
    return sorted(_zones())


class _Doc(BaseModel):
    """Stored documents: camelCase on the wire, unknown fields kept, immutable in memory."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
        extra="allow",
        str_strip_whitespace=True,
    )


class Tickets(_Doc):
    """External ticket references."""

    service_now: str | None = Field(default=None, max_length=TICKET_MAX)
    jira: str | None = Field(default=None, max_length=TICKET_MAX)


class Schedule(_Doc):
    """The implementation window, as local wall-clock times in ``timezone``."""

    implementation_start: LocalDateTime
    implementation_end: LocalDateTime
    timezone: str = Field(max_length=64)
    begin_date: date | None = None
    begin_time: HourMinute | None = None
    end_date: date | None = None
    end_time: HourMinute | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_parts(cls, data: Any) -> Any:
        """Older documents may carry only beginDate/beginTime/endDate/endTime."""
        if isinstance(data, dict):
            data = dict(data)
            for whole, day, clock in (
                ("implementationStart", "beginDate", "beginTime"),
                ("implementationEnd", "endDate", "endTime"),
            ):
                if not data.get(whole) and data.get(day) and data.get(clock):
                    data[whole] = f"{data[day]}T{data[clock]}"
        return data

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        return check_timezone(value)

    @model_validator(mode="after")
    def _order_and_parts(self) -> Schedule:
        if self.implementation_end <= self.implementation_start:
            raise ValueError("implementationEnd must be after implementationStart")
        parts = {
            "begin_date": self.implementation_start.date(),
            "begin_time": self.implementation_start.time().replace(second=0),
            "end_date": self.implementation_end.date(),
            "end_time": self.implementation_end.time().replace(second=0),
        }
        for name, value in parts.items():
            object.__setattr__(self, name, value)
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def start_utc(self) -> datetime:
        """The start instant; a time in a DST fold is its first occurrence (``wall_clock``)."""
        return instant(self.implementation_start, self.zone)

    @property
    def end_utc(self) -> datetime:
        return instant(self.implementation_end, self.zone, end=True)

    @property
    def fold_notes(self) -> list[str]:
        """How each time that happens twice (a DST fold) was resolved: its first occurrence."""
        found = (
            fold_note(t, self.zone) for t in (self.implementation_start, self.implementation_end)
        )
        return [note for note in found if note]

    def shown(self, which: str = "start") -> str:
        """``2027-11-07 01:30 (UTC-04:00)``: the wall time with its offset (folds say which)."""
        local = self.implementation_start if which == "start" else self.implementation_end
        return with_offset(local, self.zone)


class ChangeMetadata(_Doc):
    """What the change is: title, customers, tickets, schedule and the plans."""

    title: str = Field(min_length=1, max_length=TITLE_MAX)
    customer_names: list[ShortText] = Field(default_factory=list, max_length=MAX_CUSTOMERS)
    customer_codes: list[Annotated[str, Field(pattern=CUSTOMER_CODE_PATTERN)]] = Field(
        default_factory=list, max_length=MAX_CUSTOMERS
    )
    tickets: Tickets = Field(default_factory=Tickets)
    schedule: Schedule | None = None
    change_reason: LongText = ""
    implementation_plan: LongText = ""
    test_plan: LongText = ""
    expected_customer_impact: LongText = ""
    rollback_plan: LongText = ""

    @field_validator("customer_codes")
    @classmethod
    def _unique_codes(cls, value: list[str]) -> list[str]:
        seen: list[str] = []
        for code in value:
            if code in seen:
                raise ValueError(f"customer {code!r} is listed twice")
            seen.append(code)
        return seen


class EmailNotification(_Doc):
    """Overrides for the email; the subject defaults from the title."""

    subject: str | None = Field(default=None, max_length=SHORT_TEXT_MAX)

    @field_validator("subject")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        if value is not None and ("\r" in value or "\n" in value):
            raise ValueError("must be one line (no CR or LF)")
        return value


class MeetingInvite(_Doc):
    """The calendar invite; when absent, the implementation window is used."""

    title: str | None = Field(default=None, max_length=SHORT_TEXT_MAX)
    start_time: LocalDateTime | None = None
    duration: int | None = Field(default=None, ge=1, le=60 * 24 * 14)
    location: str | None = Field(default=None, max_length=SHORT_TEXT_MAX)


class HistoryEntry(_Doc):
    """One event in the change's life (an extension of the seeds' format)."""

    action: Action
    status: ChangeStatus
    version: int = Field(ge=1)
    at: Timestamp
    by: str = Field(max_length=SHORT_TEXT_MAX)
    comment: str | None = Field(default=None, max_length=2_000)


class NoticeKind(StrEnum):
    """What a notice is: a change to customers' systems, or an announcement."""

    CHANGE = "change"
    ANNOUNCEMENT = "announcement"


class AnnouncementKind(StrEnum):
    """The four announcement streams of the reference tool; each has its own SES topic."""

    CIC = "cic"
    FINOPS = "finops"
    INNER = "inner"
    GENERAL = "general"


ANNOUNCEMENT_LABELS = {
    AnnouncementKind.CIC: "CIC",
    AnnouncementKind.FINOPS: "FinOps",
    AnnouncementKind.INNER: "InnerSource",
    AnnouncementKind.GENERAL: "General",
}
"""What people read for each kind (subjects, pages)."""
SUMMARY_MAX = 1_000
MAX_LINKS = 20
LINK_URL_PATTERN = r"^(https?://|mailto:)[^\s\"'<>]+$"
"""Links an announcement may list: http(s) and mailto only (no ``javascript:``, no ``data:``)."""


class AnnouncementLink(_Doc):
    """A labelled link shown under an announcement."""

    title: str = Field(min_length=1, max_length=SHORT_TEXT_MAX)
    url: str = Field(max_length=500, pattern=LINK_URL_PATTERN)


class Announcement(_Doc):
    """What only an announcement has: its kind, a summary and a Markdown body.

    The optional event date is the change's schedule (``changeMetadata.schedule``), so the invite
    machinery of changes sends it unchanged.
    """

    announcement_kind: AnnouncementKind
    summary: str = Field(default="", max_length=SUMMARY_MAX)
    body: LongText = ""
    """Markdown; rendered by ``delivery.markdown`` with raw HTML off and a link allow-list."""
    links: tuple[AnnouncementLink, ...] = Field(default=(), max_length=MAX_LINKS)

    @property
    def label(self) -> str:
        return ANNOUNCEMENT_LABELS[self.announcement_kind]


def _is_change(kind: NoticeKind) -> bool:
    return kind is NoticeKind.CHANGE


class Override(_Doc):
    """A blocking gate finding someone chose to act past, with their reason (see actions.gates)."""

    gate: str = Field(max_length=40)
    reason: str = Field(min_length=1, max_length=OVERRIDE_REASON_MAX)
    by: str = Field(max_length=SHORT_TEXT_MAX)
    at: Timestamp
    action: Action
    version: int = Field(ge=1)


class Change(_Doc):
    """One change document, as stored in S3."""

    change_id: str = Field(
        pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
    )
    version: int = Field(ge=1)
    created_at: Timestamp
    modified_at: Timestamp
    created_by: str = Field(max_length=SHORT_TEXT_MAX)
    modified_by: str = Field(max_length=SHORT_TEXT_MAX)
    status: ChangeStatus
    change_metadata: ChangeMetadata
    email_notification: EmailNotification = Field(default_factory=EmailNotification)
    meeting_invite: MeetingInvite | None = None
    history: list[HistoryEntry] = Field(default_factory=list)
    overrides: list[Override] = Field(default_factory=list, exclude_if=lambda value: not value)
    """Gates overridden on the way to this version (submit, approve), oldest first.

    Left out of the JSON when empty, so documents without overrides stay as other tools write them.
    """
    kind: NoticeKind = Field(default=NoticeKind.CHANGE, exclude_if=_is_change)
    """A change (the default, left out of the JSON) or an announcement."""
    announcement: Announcement | None = None
    """Set exactly when ``kind`` is announcement."""

    @model_validator(mode="after")
    def _announcement_matches_kind(self) -> Change:
        if (self.kind is NoticeKind.ANNOUNCEMENT) != (self.announcement is not None):
            raise ValueError("an announcement needs the 'announcement' fields, a change none")
        return self

    @property
    def is_announcement(self) -> bool:
        return self.kind is NoticeKind.ANNOUNCEMENT

    @property
    def title(self) -> str:
        return self.change_metadata.title

    @property
    def customer_codes(self) -> list[str]:
        return list(self.change_metadata.customer_codes)

    @property
    def subject(self) -> str:
        if self.email_notification.subject:
            return self.email_notification.subject
        if self.announcement is not None:
            return f"{self.announcement.label} announcement: {self.title}"
        return f"Change notification: {self.title}"

    def was_approved(self) -> bool:
        """Whether any version of this change was ever approved."""
        return any(entry.status is ChangeStatus.APPROVED for entry in self.history)

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    def to_bytes(self) -> bytes:
        return self.model_dump_json(by_alias=True, exclude_none=True, indent=2).encode()


# Input models: what the API, the portal's forms and the CLI accept. They refuse unknown fields at
# every level and control characters in every field (a single-line field takes none at all; a
# multi-line one takes LF and TAB, with CRLF read as LF: ``changecast.text_input``). Stored
# documents keep the lenient classes above, so documents written by other tools still load.

_STRICT = ConfigDict(extra="forbid")


def single_line(value: str) -> str:
    """Refuse line breaks and every other control character (``text_input.one_line``)."""
    return one_line(value)


def multi_line(value: str) -> str:
    """Lines of text: LF and TAB kept, CRLF read as LF, other controls refused (``text_input``)."""
    return lines(value)


def _one_line_or_none(value: str | None) -> str | None:
    return None if value is None else single_line(value)


OneLine = Annotated[str, AfterValidator(single_line)]
OneLineShort = Annotated[str, Field(max_length=SHORT_TEXT_MAX), AfterValidator(single_line)]
Lines = Annotated[str, Field(max_length=LONG_TEXT_MAX), AfterValidator(multi_line)]


class TicketsInput(Tickets):
    model_config = _STRICT

    @field_validator("service_now", "jira")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        return _one_line_or_none(value)


class ScheduleInput(Schedule):
    model_config = _STRICT

    @field_validator("timezone", mode="before")
    @classmethod
    def _one_line(cls, value: Any) -> Any:
        return single_line(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _times_exist(self) -> ScheduleInput:
        """A time in a DST gap is refused, naming the gap; the window must run forward in UTC."""
        for name, local in (
            ("implementationStart", self.implementation_start),
            ("implementationEnd", self.implementation_end),
        ):
            message = gap_message(local, self.zone)
            if message is not None:
                raise ValueError(f"{name}: {message}")
        if self.end_utc <= self.start_utc:
            raise ValueError(
                f"implementationEnd ({self.shown('end')}) must be after implementationStart "
                f"({self.shown('start')})"
            )
        return self


class ChangeMetadataInput(ChangeMetadata):
    model_config = _STRICT

    title: OneLine = Field(min_length=1, max_length=TITLE_MAX)
    customer_names: list[OneLineShort] = Field(default_factory=list, max_length=MAX_CUSTOMERS)
    tickets: TicketsInput = Field(default_factory=TicketsInput)
    schedule: ScheduleInput | None = None
    change_reason: Lines = ""
    implementation_plan: Lines = ""
    test_plan: Lines = ""
    expected_customer_impact: Lines = ""
    rollback_plan: Lines = ""


class EmailNotificationInput(EmailNotification):
    model_config = _STRICT

    @field_validator("subject")
    @classmethod
    def _no_controls(cls, value: str | None) -> str | None:
        return _one_line_or_none(value)


class MeetingInviteInput(MeetingInvite):
    model_config = _STRICT

    @field_validator("title", "location")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        return _one_line_or_none(value)


class AnnouncementLinkInput(AnnouncementLink):
    model_config = _STRICT

    title: OneLine = Field(min_length=1, max_length=SHORT_TEXT_MAX)
    url: OneLine = Field(max_length=500, pattern=LINK_URL_PATTERN)


class AnnouncementInput(Announcement):
    model_config = _STRICT

    summary: Annotated[str, Field(max_length=SUMMARY_MAX), AfterValidator(multi_line)] = ""
    body: Lines = ""
    links: tuple[AnnouncementLinkInput, ...] = Field(default=(), max_length=MAX_LINKS)


class ChangeInput(BaseModel):
    """The editable part of a change, as the API and the CLI accept it."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid"
    )

    change_metadata: ChangeMetadataInput
    email_notification: EmailNotificationInput = Field(default_factory=EmailNotificationInput)
    meeting_invite: MeetingInviteInput | None = None
    kind: NoticeKind = NoticeKind.CHANGE
    announcement: AnnouncementInput | None = None

    @model_validator(mode="after")
    def _invite_time_exists(self) -> ChangeInput:
        schedule = self.change_metadata.schedule
        invite = self.meeting_invite
        if schedule is not None and invite is not None and invite.start_time is not None:
            message = gap_message(invite.start_time, schedule.zone)
            if message is not None:
                raise ValueError(f"meetingInvite.startTime: {message}")
        return self

    @model_validator(mode="after")
    def _announcement_matches_kind(self) -> ChangeInput:
        if self.kind is NoticeKind.ANNOUNCEMENT and self.announcement is None:
            raise ValueError("kind 'announcement' needs 'announcement' (its kind, summary, body)")
        if self.kind is NoticeKind.CHANGE and self.announcement is not None:
            raise ValueError("'announcement' is only for kind 'announcement'")
        return self


class ChangeEdit(ChangeInput):
    """An edit names the version it was made from, so a stale edit can be refused."""

    version: int = Field(ge=1)


_API_OUT = ConfigDict(frozen=True, alias_generator=to_camel, populate_by_name=True)
"""Results the API serves: camelCase on the wire (by alias), snake_case in Python."""


class ChangeSummary(BaseModel):
    """One row of a list or search result, served from the index."""

    model_config = _API_OUT

    change_id: str
    version: int
    status: ChangeStatus
    title: str
    customer_codes: list[str]
    created_by: str
    modified_by: str
    created_at: datetime
    modified_at: datetime
    start_utc: datetime | None = None
    end_utc: datetime | None = None
    timezone: str | None = None
    kind: NoticeKind = NoticeKind.CHANGE
    announcement_kind: AnnouncementKind | None = None


class ChangeQuery(BaseModel):
    """Filters shared by list and search. ``text`` is full-text; the rest are exact filters."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str | None = Field(default=None, max_length=200)
    status: ChangeStatus | None = None
    customer: str | None = Field(default=None, pattern=CUSTOMER_CODE_PATTERN)
    created_by: str | None = Field(default=None, max_length=SHORT_TEXT_MAX)
    starts_from: datetime | None = None
    starts_to: datetime | None = None
    visible_customers: frozenset[str] | None = None
    """Only changes whose every customer is one of these (``None``: any customers)."""
    customerless_by: str | None = None
    """Changes naming no customer only if this user created them (``None``: all of them)."""
    include_drafts: bool = True
    kind: NoticeKind | None = None
    """Only changes or only announcements (``None``: both)."""
    page: int = Field(default=1, ge=1, le=100_000)
    page_size: int = Field(default=25, ge=1, le=200)


class ChangePage(BaseModel):
    """One page of summaries."""

    model_config = _API_OUT

    items: list[ChangeSummary]
    total: int
    page: int
    page_size: int
    total_is_lower_bound: bool = False
    """A text search stopped counting at ``total``: there are more matches than that."""

    @property
    def total_label(self) -> str:
        """The total as people read it: ``1,000+`` when it is a lower bound."""
        return f"{self.total:,}+" if self.total_is_lower_bound else f"{self.total:,}"

    @property
    def last_page(self) -> int:
        """The last page to link: past a lower-bound total, one more while pages are full."""
        counted = max(1, -(-self.total // max(1, self.page_size)))
        if self.total_is_lower_bound and len(self.items) == self.page_size:
            return max(counted, self.page + 1)
        return max(counted, self.page) if self.total_is_lower_bound else counted


class Statistics(BaseModel):
    """Counts by status, for the dashboard."""

    model_config = _API_OUT

    by_status: dict[ChangeStatus, int]
    total: int
    upcoming: int


class VersionSummary(BaseModel):
    """One archived version of a change."""

    model_config = _API_OUT

    change_id: str
    version: int
    status: ChangeStatus
    title: str
    modified_by: str
    modified_at: datetime


def window_of(change: Change) -> tuple[datetime, datetime] | None:
    """The implementation window in UTC, if the change has a schedule."""
    schedule = change.change_metadata.schedule
    if schedule is None:
        return None
    return schedule.start_utc, schedule.end_utc


def invite_window(change: Change) -> tuple[datetime, datetime] | None:
    """The invite's start and end in UTC: ``meetingInvite`` when set, else the window."""
    schedule = change.change_metadata.schedule
    if schedule is None:
        return None
    invite = change.meeting_invite
    if invite is None or invite.start_time is None:
        return schedule.start_utc, schedule.end_utc
    start = invite.start_time.replace(tzinfo=schedule.zone, fold=0).astimezone(UTC)
    if invite.duration is None:
        return start, start + (schedule.end_utc - schedule.start_utc)
    return start, start + timedelta(minutes=invite.duration)

"""The change form: HTML form fields to a ChangeInput, with errors that name the form field."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Annotated, Any

from fastapi import Depends, Request
from pydantic import ValidationError
from starlette.datastructures import FormData

from changecast.changes.models import Change, ChangeEdit, ChangeInput
from changecast.errors import FieldProblem, problems_from_pydantic

LABELS = {
    "title": "Title",
    "customers": "Customers",
    "service_now": "ServiceNow ticket",
    "jira": "Jira ticket",
    "start": "Implementation start",
    "end": "Implementation end",
    "timezone": "Timezone",
    "change_reason": "Reason for the change",
    "implementation_plan": "Implementation plan",
    "test_plan": "Test plan",
    "expected_customer_impact": "Expected customer impact",
    "rollback_plan": "Rollback plan",
    "subject": "Email subject",
    "meeting": "Calendar invite",
    "meeting_title": "Meeting title",
    "meeting_start": "Meeting start",
    "meeting_duration": "Meeting duration (minutes)",
    "meeting_location": "Meeting location",
    "version": "Version",
    "announcement_kind": "Announcement kind",
    "summary": "Summary",
    "body": "Body (Markdown)",
    "links": "Links",
}
# Dotted document paths (as pydantic and the services name them) to form fields, longest first.
_PATHS = [
    ("changeMetadata.schedule.implementationStart", "start"),
    ("changeMetadata.schedule.implementationEnd", "end"),
    ("changeMetadata.schedule.timezone", "timezone"),
    ("changeMetadata.schedule", "end"),
    ("changeMetadata.tickets.serviceNow", "service_now"),
    ("changeMetadata.tickets.jira", "jira"),
    ("changeMetadata.customerCodes", "customers"),
    ("changeMetadata.title", "title"),
    ("changeMetadata.changeReason", "change_reason"),
    ("changeMetadata.implementationPlan", "implementation_plan"),
    ("changeMetadata.testPlan", "test_plan"),
    ("changeMetadata.expectedCustomerImpact", "expected_customer_impact"),
    ("changeMetadata.rollbackPlan", "rollback_plan"),
    ("emailNotification.subject", "subject"),
    ("meetingInvite.title", "meeting_title"),
    ("meetingInvite.startTime", "meeting_start"),
    ("meetingInvite.duration", "meeting_duration"),
    ("meetingInvite.location", "meeting_location"),
    ("meetingInvite", "meeting"),
    ("version", "version"),
    ("announcement.announcementKind", "announcement_kind"),
    ("announcement.summary", "summary"),
    ("announcement.body", "body"),
    ("announcement.links", "links"),
    ("announcement", "summary"),
    ("kind", "form"),
]


def form_field(path: str) -> str:
    """The form field a document path belongs to (``changeMetadata.title`` -> ``title``)."""
    for prefix, name in _PATHS:
        if path == prefix or path.startswith(prefix + "."):
            return name
    return "title" if path.startswith("changeMetadata") else "form"


def field_errors(problems: list[FieldProblem]) -> dict[str, list[str]]:
    """Problems grouped by form field, each message starting with the field's label."""
    grouped: dict[str, list[str]] = {}
    for problem in problems:
        name = form_field(problem.field)
        label = LABELS.get(name, "Form")
        grouped.setdefault(name, []).append(f"{label}: {problem.problem}")
    return grouped


class ChangeFormError(Exception):
    """The form did not validate; ``errors`` maps form fields to messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(m for ms in errors.values() for m in ms))
        self.errors = errors


def _links(text: str) -> list[dict[str, str]]:
    """``Title | URL`` lines as links; a line without ``|`` is its own title and URL."""
    links = []
    for line in text.splitlines():
        if not line.strip():
            continue
        title, _, url = line.rpartition("|") if "|" in line else (line, "", line)
        links.append({"title": title.strip(), "url": url.strip()})
    return links


def _announcement_fields(change: Change) -> dict[str, str]:
    notice = change.announcement
    if notice is None:
        return {}
    return {
        "notice_kind": "announcement",
        "announcement_kind": notice.announcement_kind.value,
        "summary": notice.summary,
        "body": notice.body,
        "links": "\n".join(f"{link.title} | {link.url}" for link in notice.links),
    }


def _opt(value: str) -> str | None:
    value = value.strip()
    return value or None


@dataclass(frozen=True)
class ChangeForm:
    """The raw values of the change form, kept as typed so a failed form re-renders as it was."""

    title: str = ""
    customers: list[str] = field(default_factory=list)
    service_now: str = ""
    jira: str = ""
    start: str = ""
    end: str = ""
    timezone: str = "UTC"
    change_reason: str = ""
    implementation_plan: str = ""
    test_plan: str = ""
    expected_customer_impact: str = ""
    rollback_plan: str = ""
    subject: str = ""
    meeting: bool = False
    meeting_title: str = ""
    meeting_start: str = ""
    meeting_duration: str = ""
    meeting_location: str = ""
    version: int = 0
    notice_kind: str = "change"
    """``announcement``: the form edits an announcement (kind, summary, Markdown body, links)."""
    announcement_kind: str = "general"
    summary: str = ""
    body: str = ""
    links: str = ""
    """One link a line: ``Title | https://…``."""

    @classmethod
    def from_form(cls, form: FormData) -> ChangeForm:
        values: dict[str, Any] = {}
        for item in fields(cls):
            if item.name == "customers":
                values["customers"] = [str(v) for v in form.getlist("customers")][:200]
            elif item.name == "meeting":
                values["meeting"] = form.get("meeting") in {"on", "1", "true"}
            elif item.name == "version":
                raw = str(form.get("version") or "0")
                ascii_digits = raw.isascii() and raw.isdigit()  # isdigit alone takes U+00B2
                values["version"] = int(raw) if ascii_digits and len(raw) < 8 else 0
            else:
                values[item.name] = str(form.get(item.name) or "")[:25_000]
        return cls(**values)

    @classmethod
    def from_change(cls, change: Change) -> ChangeForm:
        doc = change.to_json_dict()
        meta = doc["changeMetadata"]
        schedule = meta.get("schedule") or {}
        invite = doc.get("meetingInvite")
        return cls(
            title=meta["title"],
            customers=list(meta.get("customerCodes", [])),
            service_now=meta.get("tickets", {}).get("serviceNow", ""),
            jira=meta.get("tickets", {}).get("jira", ""),
            start=schedule.get("implementationStart", ""),
            end=schedule.get("implementationEnd", ""),
            timezone=schedule.get("timezone", "UTC"),
            change_reason=meta.get("changeReason", ""),
            implementation_plan=meta.get("implementationPlan", ""),
            test_plan=meta.get("testPlan", ""),
            expected_customer_impact=meta.get("expectedCustomerImpact", ""),
            rollback_plan=meta.get("rollbackPlan", ""),
            subject=doc.get("emailNotification", {}).get("subject", ""),
            meeting=invite is not None,
            meeting_title=(invite or {}).get("title", ""),
            meeting_start=(invite or {}).get("startTime", ""),
            meeting_duration=str((invite or {}).get("duration", "")),
            meeting_location=(invite or {}).get("location", ""),
            version=change.version,
            **_announcement_fields(change),
        )

    def with_timezone(self, tz: str) -> ChangeForm:
        return replace(self, timezone=tz)

    def document(self) -> dict[str, Any]:
        """The camelCase body the API would receive for these values."""
        metadata: dict[str, Any] = {
            "title": self.title.strip(),
            "customerCodes": self.customers,
            "tickets": {"serviceNow": _opt(self.service_now), "jira": _opt(self.jira)},
            "changeReason": self.change_reason,
            "implementationPlan": self.implementation_plan,
            "testPlan": self.test_plan,
            "expectedCustomerImpact": self.expected_customer_impact,
            "rollbackPlan": self.rollback_plan,
        }
        if self.start.strip() or self.end.strip():
            metadata["schedule"] = {
                "implementationStart": self.start.strip() or None,
                "implementationEnd": self.end.strip() or None,
                "timezone": self.timezone.strip(),
            }
        body: dict[str, Any] = {
            "changeMetadata": metadata,
            "emailNotification": {"subject": _opt(self.subject)},
        }
        if self.notice_kind == "announcement":
            body["kind"] = "announcement"
            body["announcement"] = {
                "announcementKind": self.announcement_kind,
                "summary": self.summary,
                "body": self.body,
                "links": _links(self.links),
            }
        if self.meeting:
            duration = self.meeting_duration.strip()
            body["meetingInvite"] = {
                "title": _opt(self.meeting_title),
                "startTime": _opt(self.meeting_start),
                "duration": duration or None,
                "location": _opt(self.meeting_location),
            }
        return body

    def to_input(self) -> ChangeInput:
        """Validate into a ChangeInput; a ``ChangeFormError`` names every bad field."""
        try:
            return ChangeInput.model_validate(self.document())
        except ValidationError as exc:
            raise ChangeFormError(field_errors(problems_from_pydantic(exc.errors()))) from None

    def to_edit(self) -> ChangeEdit:
        data = self.to_input()
        return ChangeEdit.model_validate({"version": self.version, **data.model_dump()})


async def read_form(request: Request) -> FormData:
    """The posted form, parsed before a synchronous route runs (so it may block safely)."""
    return await request.form()


FormDep = Annotated[FormData, Depends(read_form)]

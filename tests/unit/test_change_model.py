"""Validation of the change record at its boundary."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from changecast.changes.models import Change, ChangeInput, invite_window
from tests.builders import change_body


def problems(body: dict[str, Any]) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        ChangeInput.model_validate(body)
    return [".".join(str(p) for p in e["loc"]) + ": " + e["msg"] for e in caught.value.errors()]


def test_title_is_required() -> None:
    body = change_body()
    del body["changeMetadata"]["title"]
    assert any("changeMetadata.title" in p for p in problems(body))


def test_megabyte_title_is_refused_naming_the_field() -> None:
    found = problems(change_body(title="x" * 1_000_000))
    assert any(p.startswith("changeMetadata.title") and "200" in p for p in found)


def test_end_before_start_is_refused() -> None:
    found = problems(change_body(start="2030-03-01T12:00", end="2030-03-01T10:00"))
    assert any("implementationEnd must be after implementationStart" in p for p in found)


@pytest.mark.parametrize("zone", ["EST", "Mars/Olympus", "", "../../etc/passwd", "America/"])
def test_unknown_timezone_is_refused(zone: str) -> None:
    found = problems(change_body(timezone=zone))
    assert any("schedule.timezone" in p for p in found)


def test_every_long_text_is_bounded() -> None:
    body = change_body()
    body["changeMetadata"]["rollbackPlan"] = "r" * 20_001
    assert any("rollbackPlan" in p for p in problems(body))


def test_unknown_fields_are_refused_on_input() -> None:
    body = change_body()
    body["surprise"] = 1
    assert any("surprise" in p for p in problems(body))


def test_subject_with_newline_is_refused() -> None:
    body = change_body(emailNotification={"subject": "Hello\r\nBcc: victim@example.com"})
    assert any("CR or LF" in p for p in problems(body))


def test_duplicate_customer_is_refused() -> None:
    assert any("twice" in p for p in problems(change_body(customers=["acme", "acme"])))


SEED_DOCUMENT = {
    "changeId": "550e8400-e29b-41d4-a716-446655440000",
    "version": 1,
    "createdAt": "2025-09-20T15:30:00Z",
    "modifiedAt": "2025-09-20T15:30:00Z",
    "createdBy": "user@company.com",
    "modifiedBy": "user@company.com",
    "status": "submitted",
    "changeMetadata": {
        "title": "Configure Proof-of-Value exercise with FinOut",
        "customerNames": ["Customer A", "Customer B"],
        "customerCodes": ["customer-a", "customer-b"],
        "tickets": {"serviceNow": "CHG0123456", "jira": "INFRA-2847"},
        "schedule": {
            "implementationStart": "2025-09-20T10:00",
            "implementationEnd": "2025-09-20T17:00",
            "beginDate": "2025-09-20",
            "beginTime": "10:00",
            "endDate": "2025-09-20",
            "endTime": "17:00",
            "timezone": "America/New_York",
        },
        "changeReason": "Evaluate new cost management platform",
        "implementationPlan": "Deploy FinOut platform in test environment",
        "testPlan": "Validate cost data ingestion and reporting",
        "expectedCustomerImpact": "No customer impact expected",
        "rollbackPlan": "Remove FinOut configuration if issues arise",
    },
    "emailNotification": {"subject": "ITSM Change Notification: Configure Proof-of-Value"},
    "meetingInvite": {
        "title": "Change Implementation Meeting",
        "startTime": "2025-09-20T10:00",
        "duration": 420,
        "location": "Microsoft Teams",
    },
    "writtenBy": "another-tool",
}


def test_seed_document_round_trips_with_foreign_fields_kept() -> None:
    change = Change.model_validate(SEED_DOCUMENT)
    again = json.loads(change.to_bytes())
    assert again["writtenBy"] == "another-tool"
    assert again["changeMetadata"]["schedule"]["beginTime"] == "10:00"
    assert again["changeMetadata"]["tickets"] == {"serviceNow": "CHG0123456", "jira": "INFRA-2847"}
    assert Change.model_validate(again) == change


def test_schedule_from_parts_only_is_understood() -> None:
    doc = json.loads(json.dumps(SEED_DOCUMENT))
    schedule = doc["changeMetadata"]["schedule"]
    del schedule["implementationStart"], schedule["implementationEnd"]
    change = Change.model_validate(doc)
    assert change.change_metadata.schedule is not None
    assert change.change_metadata.schedule.start_utc.isoformat() == "2025-09-20T14:00:00+00:00"


def test_invite_uses_meeting_invite_then_window() -> None:
    change = Change.model_validate(SEED_DOCUMENT)
    start, end = invite_window(change) or (None, None)
    assert start is not None and end is not None
    assert (end - start).total_seconds() == 420 * 60
    plain = change.model_copy(update={"meeting_invite": None})
    assert invite_window(plain) == (
        plain.change_metadata.schedule.start_utc,  # type: ignore[union-attr]
        plain.change_metadata.schedule.end_utc,  # type: ignore[union-attr]
    )

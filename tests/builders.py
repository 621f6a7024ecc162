"""Builders for valid test inputs, so each test states only what it varies."""

from __future__ import annotations

from typing import Any

from changecast.changes.models import ChangeEdit, ChangeInput


def change_body(
    *,
    title: str = "Rotate TLS certificates",
    customers: list[str] | None = None,
    start: str = "2030-03-01T10:00",
    end: str = "2030-03-01T12:00",
    timezone: str = "America/New_York",
    **extra: Any,
) -> dict[str, Any]:
    """A JSON body of a complete change."""
    body: dict[str, Any] = {
        "changeMetadata": {
            "title": title,
            "customerCodes": customers if customers is not None else ["acme", "globex", "initech"],
            "tickets": {"serviceNow": "CHG0001", "jira": "CCOE-1"},
            "schedule": {
                "implementationStart": start,
                "implementationEnd": end,
                "timezone": timezone,
            },
            "changeReason": "Certificates expire soon.",
            "implementationPlan": "Swap listeners one by one.",
            "testPlan": "Handshake checks.",
            "expectedCustomerImpact": "None.",
            "rollbackPlan": "Swap back.",
        },
        "meetingInvite": {"title": "TLS window", "location": "Teams"},
    }
    body.update(extra)
    return body


def change_input(**kwargs: Any) -> ChangeInput:
    return ChangeInput.model_validate(change_body(**kwargs))


def change_edit(version: int, **kwargs: Any) -> ChangeEdit:
    return ChangeEdit.model_validate({"version": version, **change_body(**kwargs)})

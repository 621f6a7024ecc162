"""Builders for announcement inputs, so each test states only what it varies."""

from __future__ import annotations

from typing import Any

from changecast.changes.models import ChangeInput

HOSTILE_MARKDOWN = (
    "# Budget news\n\n"
    "<script>alert('body')</script>\n\n"
    "[click me](javascript:alert('link')) and [also](JaVaScRiPt:alert(2))\n\n"
    '<img src=x onerror="alert(3)"> <b>bold html</b>\n\n'
    "![pixel](https://tracker.example/p.gif)\n\n"
    "- read [the FinOps guide](https://finops.example.com/guide)\n"
)


def announcement_body(
    *,
    title: str = "New cost allocation tags",
    customers: list[str] | None = None,
    kind: str = "finops",
    summary: str = "Tag your resources by March.",
    body: str = "Tagging **matters**: see the [guide](https://finops.example.com).",
    event: dict[str, str] | None = None,
    links: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """A JSON body of a complete announcement (``event``: a schedule, for an event date)."""
    metadata: dict[str, Any] = {
        "title": title,
        "customerCodes": customers if customers is not None else ["acme", "globex"],
    }
    if event is not None:
        metadata["schedule"] = event
    return {
        "kind": "announcement",
        "changeMetadata": metadata,
        "announcement": {
            "announcementKind": kind,
            "summary": summary,
            "body": body,
            "links": links if links is not None else [],
        },
    }


def announcement_input(**kwargs: Any) -> ChangeInput:
    return ChangeInput.model_validate(announcement_body(**kwargs))

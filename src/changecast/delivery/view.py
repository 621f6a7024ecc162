"""The template context of a change: every field as display text, times local and in UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from changecast.changes.models import Change, invite_window
from changecast.customers.models import EmailConfig


def when(moment: datetime) -> str:
    """``Sat 01 Mar 2030 10:00 EST`` (locale-independent)."""
    days = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    return (
        f"{days[moment.weekday()]} {moment.day:02d} {months[moment.month - 1]} {moment.year} "
        f"{moment:%H:%M} {moment.tzname() or ''}"
    ).rstrip()


def duration(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    hours, rest = divmod(minutes, 60)
    parts = ([f"{hours} h"] if hours else []) + ([f"{rest} min"] if rest else [])
    return " ".join(parts) or "0 min"


def portal_link(email_config: EmailConfig, change_id: str) -> str:
    return f"{email_config.portal_base_url.rstrip('/')}/changes/{change_id}"


def _schedule(change: Change) -> dict[str, str] | None:
    schedule = change.change_metadata.schedule
    if schedule is None:
        return None
    zone = schedule.zone
    start, end = schedule.start_utc, schedule.end_utc
    return {
        "timezone": schedule.timezone,
        "start_local": when(start.astimezone(zone)),
        "end_local": when(end.astimezone(zone)),
        "start_utc": when(start.astimezone(UTC)),
        "end_utc": when(end.astimezone(UTC)),
        "duration": duration(end - start),
    }


def window_in(change: Change, timezone: str | None) -> dict[str, str] | None:
    """The window in ``timezone`` (a customer's; the schedule's own when None)."""
    schedule = change.change_metadata.schedule
    if schedule is None:
        return None
    zone = ZoneInfo(timezone) if timezone else schedule.zone
    return {
        "timezone": timezone or schedule.timezone,
        "start": when(schedule.start_utc.astimezone(zone)),
        "end": when(schedule.end_utc.astimezone(zone)),
    }


def _meeting(change: Change) -> dict[str, str] | None:
    window = invite_window(change)
    schedule = change.change_metadata.schedule
    if window is None or schedule is None:
        return None
    invite = change.meeting_invite
    return {
        "title": (invite.title if invite and invite.title else None) or change.title,
        "start_local": when(window[0].astimezone(schedule.zone)),
        "start_utc": when(window[0]),
        "duration": duration(window[1] - window[0]),
        "location": (invite.location if invite and invite.location else None) or "",
    }


def change_view(change: Change, *, email_config: EmailConfig) -> dict[str, Any]:
    """Everything the templates show about ``change``; missing text is an empty string."""
    meta = change.change_metadata
    return {
        "change": {
            "id": change.change_id,
            "version": change.version,
            "status": change.status.value,
            "title": change.title,
            "customer_names": list(meta.customer_names),
            "tickets": {
                "service_now": meta.tickets.service_now or "",
                "jira": meta.tickets.jira or "",
            },
            "reason": meta.change_reason,
            "implementation_plan": meta.implementation_plan,
            "test_plan": meta.test_plan,
            "impact": meta.expected_customer_impact,
            "rollback_plan": meta.rollback_plan,
            "modified_by": change.modified_by,
        },
        "schedule": _schedule(change),
        "meeting": _meeting(change),
        "portal_url": portal_link(email_config, change.change_id),
        "announcement": announcement_view(change),
    }


def announcement_view(change: Change) -> dict[str, Any] | None:
    """An announcement's kind, summary and body (safe HTML and text); ``None`` for a change."""
    found = change.announcement
    if found is None:
        return None
    # Imported here: markdown-it is announcements' alone, and the worker's cold start skips it.
    from changecast.delivery.markdown import markdown_html, markdown_text

    return {
        "kind": found.announcement_kind.value,
        "label": found.label,
        "summary": found.summary,
        "body_html": markdown_html(found.body),
        "body_text": markdown_text(found.body),
        "links": [{"title": link.title, "url": link.url} for link in found.links],
    }

"""The audit trail for Auditors: filter events by time, actor, change and action; export them."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from changecast.audit import service
from changecast.audit.models import AuditAction, AuditQuery
from changecast.errors import MalformedInputError
from changecast.ids import parse_change_id
from changecast.web.deps import CurrentActor, RuntimeDep
from changecast.web.pages.templating import render
from changecast.web.pages.viewer import ViewerTz

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50


def _day(raw: str, tz: str, *, end: bool) -> datetime | None:
    """A ``YYYY-MM-DD`` in the viewer's timezone: its start, or the start of the next day."""
    if not raw:
        return None
    try:
        day = datetime.strptime(raw, "%Y-%m-%d").date()
    except ValueError:
        raise MalformedInputError(f"{raw[:20]!r} is not a date (YYYY-MM-DD)") from None
    start = datetime.combine(day + timedelta(days=1 if end else 0), time(), ZoneInfo(tz))
    return start.astimezone(UTC)


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    runtime: RuntimeDep,
    actor: CurrentActor,
    tz: ViewerTz,
    from_: Annotated[str, Query(alias="from", max_length=10)] = "",
    to: Annotated[str, Query(max_length=10)] = "",
    who: Annotated[str, Query(alias="actor", max_length=200)] = "",
    change: Annotated[str, Query(max_length=36)] = "",
    action: Annotated[AuditAction | None, Query()] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    """Newest first, 50 to a page; the export links carry the same filters."""
    query = AuditQuery(
        starts_from=_day(from_, tz, end=False),
        ends_before=_day(to, tz, end=True),
        actor=who.strip() or None,
        change_id=parse_change_id(change.strip()) if change.strip() else None,
        action=action,
        page=page,
        page_size=PAGE_SIZE,
    )
    found = service.browse(index=runtime.audit_index, actor=actor, query=query)
    filters = {"from": from_, "to": to, "actor": who, "change": change, "action": action or ""}
    api_filters = {
        "from": query.starts_from.isoformat() if query.starts_from else "",
        "to": query.ends_before.isoformat() if query.ends_before else "",
        "actor": who,
        "change": change,
        "action": action.value if action else "",
    }
    kept = {k: v for k, v in api_filters.items() if v}
    context: dict[str, Any] = {
        "page": found,
        "filters": filters,
        "actions": [a.value for a in AuditAction],
        "last_page": max(1, -(-found.total // PAGE_SIZE)),
        "page_link": lambda n: (
            "/audit?" + urlencode({**{k: v for k, v in filters.items() if v}, "page": n})
        ),
        "export_csv": "/api/audit/export?" + urlencode({**kept, "format": "csv"}),
        "export_json": "/api/audit/export?" + urlencode({**kept, "format": "json"}),
    }
    return render(request, "pages/audit.html", actor, context)

"""Dashboard: counts by status, recent changes, drafts needing attention, upcoming windows."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from changecast.access.models import Actor
from changecast.access.policy import WRITERS
from changecast.changes import service
from changecast.changes.context import ChangeDeps
from changecast.changes.models import ChangeQuery, ChangeStatus, ChangeSummary
from changecast.web.deps import ChangesDep, CurrentActor
from changecast.web.pages.templating import render

router = APIRouter(include_in_schema=False)

UPCOMING_DAYS = 14
UPCOMING_SHOWN = 10


def upcoming_windows(deps: ChangeDeps, actor: Actor) -> tuple[list[ChangeSummary], int]:
    """Submitted and approved changes whose window starts in the next 14 days, soonest first."""
    now = deps.clock.now()
    found: list[ChangeSummary] = []
    total = 0
    for status in (ChangeStatus.SUBMITTED, ChangeStatus.APPROVED):
        query = ChangeQuery(
            status=status,
            starts_from=now,
            starts_to=now + timedelta(days=UPCOMING_DAYS),
            page_size=50,
        )
        page = service.find(deps=deps, actor=actor, query=query)
        found += page.items
        total += page.total
    found.sort(key=lambda item: (item.start_utc is None, item.start_utc))
    return found[:UPCOMING_SHOWN], total


def needs(item: ChangeSummary, deps: ChangeDeps) -> list[str]:
    """What stops a draft from being submitted, or makes it look stale."""
    missing = []
    if not item.customer_codes:
        missing.append("choose customers")
    if item.start_utc is None:
        missing.append("set a schedule")
    elif item.start_utc < deps.clock.now():
        missing.append("window is in the past")
    return missing


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, deps: ChangesDep, actor: CurrentActor) -> HTMLResponse:
    stats = service.statistics(deps=deps, actor=actor)
    recent = service.find(deps=deps, actor=actor, query=ChangeQuery(page_size=8)).items
    drafts = service.my_changes(
        deps=deps, actor=actor, query=ChangeQuery(status=ChangeStatus.DRAFT, page_size=8)
    ).items
    upcoming, upcoming_total = upcoming_windows(deps, actor)
    now = deps.clock.now()
    context = {
        "stats": stats,
        "statuses": list(ChangeStatus),
        "recent": recent,
        "drafts": [(item, needs(item, deps)) for item in drafts],
        "upcoming": upcoming,
        "upcoming_total": upcoming_total,
        "upcoming_from": now.date().isoformat(),
        "upcoming_to": (now + timedelta(days=UPCOMING_DAYS)).date().isoformat(),
        "may_write": actor.role in WRITERS,
    }
    return render(request, "pages/dashboard.html", actor, context)

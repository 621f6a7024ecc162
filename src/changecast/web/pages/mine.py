"""My changes: tabs for Drafts, Submitted and All, each with its count."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from changecast.actions import service
from changecast.changes.models import ChangeQuery, ChangeStatus
from changecast.web.deps import ChangesDep, CurrentActor
from changecast.web.pages.templating import render

router = APIRouter(include_in_schema=False)

TABS = {"drafts": ChangeStatus.DRAFT, "submitted": ChangeStatus.SUBMITTED, "all": None}
PAGE_SIZE = 25


@router.get("/mine", response_class=HTMLResponse)
def my_changes(
    request: Request, deps: ChangesDep, actor: CurrentActor, tab: str = "drafts", page: int = 1
) -> HTMLResponse:
    tab = tab if tab in TABS else "drafts"
    page = page if 1 <= page <= 100_000 else 1
    stats = service.statistics(deps=deps, actor=actor, mine=True)
    counts = {
        "drafts": stats.by_status.get(ChangeStatus.DRAFT, 0),
        "submitted": stats.by_status.get(ChangeStatus.SUBMITTED, 0),
        "all": stats.total,
    }
    query = ChangeQuery(status=TABS[tab], page=page, page_size=PAGE_SIZE)
    result = service.my_changes(deps=deps, actor=actor, query=query)
    context = {
        "tab": tab,
        "tabs": [("drafts", "Drafts"), ("submitted", "Submitted"), ("all", "All")],
        "counts": counts,
        "result": result,
        "page": page,
        "last_page": max(1, -(-result.total // PAGE_SIZE)),
    }
    return render(request, "pages/mine.html", actor, context)

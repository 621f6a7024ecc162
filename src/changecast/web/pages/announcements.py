"""Announcement pages: the list (by kind, status, text) and the create form.

An announcement is a change document of kind ``announcement``, so its preview, view, edit and
actions are the change pages (``/changes/{id}…``), which show its kind, summary and body.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from changecast.access.policy import WRITERS
from changecast.actions import service
from changecast.changes.models import ChangeQuery, ChangeStatus, NoticeKind
from changecast.errors import PermissionDeniedError
from changecast.web.deps import ChangesDep, CurrentActor
from changecast.web.pages.changes import form_page
from changecast.web.pages.forms import ChangeForm
from changecast.web.pages.templating import render
from changecast.web.pages.viewer import ViewerTz

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 25


@router.get("/announcements", response_class=HTMLResponse)
def list_announcements(
    request: Request,
    deps: ChangesDep,
    actor: CurrentActor,
    q: str = "",
    status: str = "",
    page: int = 1,
) -> HTMLResponse:
    page = page if 1 <= page <= 100_000 else 1
    chosen = ChangeStatus(status) if status in set(ChangeStatus) else None
    query = ChangeQuery(
        text=q.strip()[:200] or None,
        status=chosen,
        kind=NoticeKind.ANNOUNCEMENT,
        page=page,
        page_size=PAGE_SIZE,
    )
    result = service.find(deps=deps, actor=actor, query=query)
    context = {
        "result": result,
        "q": q,
        "status": chosen.value if chosen else "",
        "statuses": [s.value for s in ChangeStatus],
        "page": page,
        "last_page": result.last_page,
        "may_create": actor.role in WRITERS,
    }
    return render(request, "pages/announcements.html", actor, context)


@router.get("/announcements/new", response_class=HTMLResponse)
def new_announcement(
    request: Request, deps: ChangesDep, actor: CurrentActor, tz: ViewerTz
) -> Response:
    if actor.role not in WRITERS:
        raise PermissionDeniedError(f"role {actor.role.value} may not create announcements")
    form = ChangeForm(timezone=tz, notice_kind=NoticeKind.ANNOUNCEMENT.value)
    return form_page(request, deps, actor, mode="create", form=form)

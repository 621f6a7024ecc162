"""Approvals: the changes awaiting approval, soonest first, each once with its customers."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from changecast.access.policy import may_act, wrote_latest
from changecast.actions import service
from changecast.changes.models import Action, ChangeQuery, ChangeStatus
from changecast.errors import NotFoundError
from changecast.web.deps import ChangesDep, CurrentActor
from changecast.web.pages.signoff_view import answers_by_change
from changecast.web.pages.templating import render

router = APIRouter(include_in_schema=False)

LIMIT = 200


@router.get("/approvals", response_class=HTMLResponse)
def approvals(request: Request, deps: ChangesDep, actor: CurrentActor) -> HTMLResponse:
    query = ChangeQuery(status=ChangeStatus.SUBMITTED, page_size=LIMIT)
    page = service.find(deps=deps, actor=actor, query=query)
    items = sorted(page.items, key=lambda i: (i.start_utc is None, i.start_utc))
    names = {}
    for code in {code for item in items for code in item.customer_codes}:
        try:
            names[code] = deps.directory.get(code).customer_name
        except NotFoundError:
            names[code] = code
    allowed = deps.allow_self_approval
    may_approve = {
        item.change_id: may_act(actor, Action.APPROVE, item)
        and not wrote_latest(actor, item.created_by, item.modified_by, allowed=allowed)
        for item in page.items
    }
    context = {
        "items": items,
        "names": names,
        "total": page.total,
        "shown": len(page.items),
        "may_approve": may_approve,
        "signoff": answers_by_change(request.app.state.runtime, page.items),
    }
    return render(request, "pages/approvals.html", actor, context)

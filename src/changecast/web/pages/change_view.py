"""View change: fields, the actions this user may take now, versions with a diff, the timeline."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from changecast.access.models import Actor
from changecast.access.policy import Visibility, change_summary, four_eyes_refusal, may_act
from changecast.changes import drafts, service
from changecast.changes.context import ChangeDeps
from changecast.changes.models import Action, Change, ChangeStatus, VersionSummary
from changecast.changes.workflow import allowed_actions
from changecast.delivery.models import ExecutionRecord
from changecast.errors import NotFoundError
from changecast.ids import ChangeId
from changecast.web.deps import ChangeIdPath, ChangesDep, CurrentActor
from changecast.web.pages.deliveries import deliveries_of, grid_context, history_of
from changecast.web.pages.diff import FieldDiff, diff_documents
from changecast.web.pages.forms import FormDep
from changecast.web.pages.streaming import stream_action
from changecast.web.pages.templating import render

router = APIRouter(include_in_schema=False)

ACTION_ORDER = [Action.SUBMIT, Action.APPROVE, Action.REJECT, Action.EDIT, Action.COMPLETE]
ACTION_ORDER += [Action.CANCEL]


@dataclass(frozen=True)
class TimelineEvent:
    """One line of the timeline: a history entry or a delivery result."""

    at: datetime
    kind: str
    text: str
    by: str = ""
    comment: str = ""


def actions_for(actor: Actor, change: Change) -> list[str]:
    """What ``actor`` may do to ``change`` now: the state machine's actions they are allowed."""
    if change.status is ChangeStatus.DRAFT:
        allowed = {Action.SUBMIT, Action.EDIT}
    else:
        allowed = set(allowed_actions(change.status))
    return [a.value for a in ACTION_ORDER if a in allowed and may_act(actor, a, change)]


def timeline(change: Change, deliveries: list[ExecutionRecord]) -> list[TimelineEvent]:
    """History entries and delivery results, newest first."""
    events = [
        TimelineEvent(
            at=entry.at,
            kind=entry.action.value,
            text=f"{entry.action.value} → {entry.status.value} (version {entry.version})",
            by=entry.by,
            comment=entry.comment or "",
        )
        for entry in change.history
    ]
    events += [
        TimelineEvent(
            at=record.finished_at,
            kind=f"delivery-{record.status.value}",
            text=(
                f"{record.event.value} email {record.status.value} to {record.customer_code} "
                f"(version {record.version}): {record.sent} sent, {record.already_sent} already "
                f"sent, {record.filtered} filtered, {record.failed} failed"
            ),
        )
        for record in deliveries
    ]
    ordered = sorted(events, key=lambda e: e.at)  # ties keep the history's order
    ordered.reverse()
    return ordered


def version_diff(
    deps: ChangeDeps, actor: Actor, change: Change, versions: list[VersionSummary], left: int
) -> tuple[int, int, list[FieldDiff]] | None:
    """Version ``left`` against ``left + 1`` (by default the latest against the one before)."""
    if len(versions) < 2:
        return None
    numbers = [v.version for v in versions]
    if left not in numbers or left + 1 not in numbers:
        left = numbers[-2]
    change_id = ChangeId(change.change_id)
    older = service.get_version(deps=deps, actor=actor, change_id=change_id, version=left)
    newer = (
        change
        if left + 1 == change.version
        else service.get_version(deps=deps, actor=actor, change_id=change_id, version=left + 1)
    )
    return left, left + 1, diff_documents(older.to_json_dict(), newer.to_json_dict())


def approval_context(deps: ChangeDeps, actor: Actor, change: Change) -> dict[str, Any]:
    """The open actions, without Approve (and saying why) when four eyes forbid it."""
    actions = actions_for(actor, change)
    refusal = None
    if Action.APPROVE.value in actions:
        refusal = four_eyes_refusal(actor, change, allowed=deps.allow_self_approval)
    if refusal is not None:
        actions.remove(Action.APPROVE.value)
    return {"actions": actions, "four_eyes": refusal}


def view_context(deps: ChangeDeps, actor: Actor, change: Change, compare: int) -> dict[str, Any]:
    archived = change.status is not ChangeStatus.DRAFT
    change_id = ChangeId(change.change_id)
    versions = service.versions(deps=deps, actor=actor, change_id=change_id) if archived else []
    deliveries = deliveries_of(deps, change)
    return {
        **grid_context(deps, actor, change, deliveries),
        "change": change,
        "doc": change.to_json_dict(),
        **approval_context(deps, actor, change),
        "versions": versions,
        "diff": version_diff(deps, actor, change, versions, compare) if archived else None,
        "timeline": timeline(change, history_of(deliveries)),
        "archived": archived,
        "metadata_json": json.dumps(change.to_json_dict(), indent=2, ensure_ascii=False),
    }


@router.get("/changes/{change_id}", response_class=HTMLResponse)
def view_change(
    request: Request, change_id: ChangeIdPath, deps: ChangesDep, actor: CurrentActor
) -> HTMLResponse:
    change, seen = service.look(deps=deps, actor=actor, change_id=change_id)
    if seen is not Visibility.FULL:
        summary = {"summary": change_summary(actor, change), "change": change}
        return render(request, "pages/change_summary.html", actor, summary)
    raw = request.query_params.get("compare", "")
    compare = int(raw) if raw.isdigit() and len(raw) < 8 else 0
    context = view_context(deps, actor, change, compare)
    return render(request, "pages/change_view.html", actor, context)


@router.post("/changes/{change_id}/submit")
def submit_change(
    request: Request, change_id: ChangeIdPath, deps: ChangesDep, actor: CurrentActor
) -> Response:
    """Submit a draft; each customer's trigger result is shown as it is written."""
    draft = drafts.get_draft(deps=deps, actor=actor, change_id=change_id)
    return stream_action(
        request,
        actor,
        change=draft,
        heading="Submitting for approval",
        run=lambda on_result: drafts.submit(
            deps=deps, actor=actor, change_id=change_id, on_result=on_result
        ),
    )


HEADINGS = {
    Action.APPROVE: "Approving",
    Action.REJECT: "Rejecting",
    Action.COMPLETE: "Marking complete",
    Action.CANCEL: "Cancelling",
}


@router.post("/changes/{change_id}/actions/{action}")
def act(
    request: Request,
    change_id: ChangeIdPath,
    action: str,
    form: FormDep,
    deps: ChangesDep,
    actor: CurrentActor,
) -> Response:
    """approve, reject, complete, cancel, or retry (write the missing triggers)."""
    change = service.get(deps=deps, actor=actor, change_id=change_id)
    comment = str(form.get("comment") or "").strip()[:2_000] or None
    if action == "retry":
        return stream_action(
            request,
            actor,
            change=change,
            heading="Writing the missing triggers",
            run=lambda on_result: service.redistribute(
                deps=deps, actor=actor, change_id=change_id, on_result=on_result
            ),
        )
    chosen = next((a for a in HEADINGS if a.value == action), None)
    if chosen is None:
        raise NotFoundError(f"unknown action {action[:30]!r}")
    return stream_action(
        request,
        actor,
        change=change,
        heading=HEADINGS[chosen],
        run=lambda on_result: service.transition(
            deps=deps,
            actor=actor,
            change_id=change_id,
            action=chosen,
            comment=comment,
            on_result=on_result,
        ),
    )

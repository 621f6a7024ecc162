"""View change: fields, the actions this user may take now, versions with a diff, the timeline."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from changecast.access.models import Actor
from changecast.access.policy import Visibility, change_summary, four_eyes_refusal, may_act
from changecast.actions import drafts, pipeline, service
from changecast.actions.context import ChangeDeps
from changecast.actions.gates import GateFinding, GateRefusedError
from changecast.actions.pipeline import RETRY, ActionRequest, Retry, parse_action
from changecast.changes.models import (
    Action,
    Change,
    ChangeStatus,
    HistoryEntry,
    VersionSummary,
    invite_window,
)
from changecast.changes.workflow import allowed_actions
from changecast.delivery.models import DeliveryRecord
from changecast.delivery.ports import DeliveryReadModel
from changecast.errors import NotFoundError
from changecast.ids import ChangeId
from changecast.web.deps import ChangeIdPath, ChangesDep, CurrentActor, DeliveriesDep
from changecast.web.pages.deliveries import deliveries_of, grid_context, history_of, state_word
from changecast.web.pages.diff import FieldDiff, diff_documents
from changecast.web.pages.forms import FormDep
from changecast.web.pages.gate_preview import FindingGroup
from changecast.web.pages.results import done_entry, repeated, result_url
from changecast.web.pages.signoff_view import signoff_context
from changecast.web.pages.streaming import stream_action
from changecast.web.pages.survey_results import survey_context
from changecast.web.pages.templating import render

router = APIRouter(include_in_schema=False)
log = structlog.get_logger()

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
        allowed = set(allowed_actions(change.status, change.kind))
    return [a.value for a in ACTION_ORDER if a in allowed and may_act(actor, a, change)]


def timeline(change: Change, deliveries: list[DeliveryRecord]) -> list[TimelineEvent]:
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
            at=record.finished_at or record.updated_at,
            kind=f"delivery-{record.status.value if record.status else 'pending'}",
            text=(
                f"{record.event.value} email "
                f"{state_word(record.status.value if record.status else 'pending', record)} "
                f"to {record.customer_code} "
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
    deps: ChangeDeps,
    actor: Actor,
    change: Change,
    versions: list[VersionSummary],
    left: int,
    right: int = 0,
) -> tuple[int, int, list[FieldDiff]] | None:
    """Version ``left`` against ``right`` (default ``left + 1``; by default the latest two).

    An "[Updated]" email links here with ``?compare=OLD&to=NEW``: the approved version it
    replaced against the new one, however many versions lie between.
    """
    if len(versions) < 2:
        return None
    numbers = [v.version for v in versions]
    if left not in numbers or right not in numbers or right <= left:
        right = left + 1
    if left not in numbers or right not in numbers:
        left, right = numbers[-2], numbers[-1]
    older = archived_version(deps, actor, change, left)
    newer = change if right == change.version else archived_version(deps, actor, change, right)
    return left, right, diff_documents(older.to_json_dict(), newer.to_json_dict())


def archived_version(deps: ChangeDeps, actor: Actor, change: Change, version: int) -> Change:
    """An older version for the diff: the index's copy (no S3 request), else S3's.

    A version's content never changes, and the diff shows content only. The index is derived:
    when it lacks the version or fails, S3 serves the page.
    """
    try:
        indexed = deps.index.version_document(change.change_id, version)
    except Exception:  # any index failure: S3 is the record
        log.warning("index_version_read_failed", change_id=change.change_id, version=version)
        indexed = None
    if indexed is not None and indexed.change_id == change.change_id:
        return indexed
    change_id = ChangeId(change.change_id)
    return service.get_version(
        deps=deps, actor=actor, change_id=change_id, version=version, latest=change
    )


def approval_context(deps: ChangeDeps, actor: Actor, change: Change) -> dict[str, Any]:
    """The open actions, without Approve (and saying why) when four eyes forbid it."""
    actions = actions_for(actor, change)
    refusal = None
    if Action.APPROVE.value in actions:
        refusal = four_eyes_refusal(actor, change, allowed=deps.allow_self_approval)
    if refusal is not None:
        actions.remove(Action.APPROVE.value)
    return {"actions": actions, "four_eyes": refusal}


TIMELINE_SHOWN = 25
"""The timeline shows its newest entries; ``?timeline=all`` (a link under it) shows every one."""


def view_context(
    deps: ChangeDeps,
    read_model: DeliveryReadModel,
    actor: Actor,
    change: Change,
    compare: int,
    *,
    whole_timeline: bool = False,
    to: int = 0,
) -> dict[str, Any]:
    archived = change.status is not ChangeStatus.DRAFT
    change_id = ChangeId(change.change_id)
    versions = (
        service.versions(deps=deps, actor=actor, change_id=change_id, latest=change)
        if archived
        else []
    )
    deliveries = deliveries_of(read_model, change, deps.clock.now())
    events = timeline(change, history_of(deliveries))
    doc = change.to_json_dict()
    return {
        **grid_context(deps, actor, change, deliveries),
        "change": change,
        "doc": doc,
        **approval_context(deps, actor, change),
        "versions": versions,
        "diff": version_diff(deps, actor, change, versions, compare, to) if archived else None,
        "timeline": events if whole_timeline else events[:TIMELINE_SHOWN],
        "timeline_total": len(events),
        "archived": archived,
        "metadata_json": json.dumps(doc, indent=2, ensure_ascii=False),
        "status_by": status_by(change),
        "meeting_window": invite_window(change) if change.meeting_invite else None,
    }


def status_by(change: Change) -> dict[int, HistoryEntry]:
    """Per version, the entry that gave it its status (who approved it, not who saved it)."""
    found: dict[int, HistoryEntry] = {}
    for entry in change.history:
        found[entry.version] = entry
    return found


@router.get("/changes/{change_id}", response_class=HTMLResponse)
def view_change(
    request: Request,
    change_id: ChangeIdPath,
    deps: ChangesDep,
    read_model: DeliveriesDep,
    actor: CurrentActor,
) -> HTMLResponse:
    change, seen = service.look(deps=deps, actor=actor, change_id=change_id)
    if seen is not Visibility.FULL:
        summary = {"summary": change_summary(actor, change), "change": change}
        return render(request, "pages/change_summary.html", actor, summary)
    raw = request.query_params.get("compare", "")
    # ASCII digits only: str.isdigit() also takes U+00B2, which int() refuses
    compare = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 8 else 0
    raw_to = request.query_params.get("to", "")
    to = int(raw_to) if raw_to.isascii() and raw_to.isdigit() and len(raw_to) < 8 else 0
    runtime = request.app.state.runtime
    whole = request.query_params.get("timeline") == "all"
    context = view_context(deps, read_model, actor, change, compare, whole_timeline=whole, to=to)
    context.update(signoff_context(runtime, change))
    context.update(survey_context(runtime, change))
    context["result"] = done_entry(change, actor, request.query_params.get("done", ""))
    return render(request, "pages/change_view.html", actor, context)


@router.post("/changes/{change_id}/submit")
def submit_change(
    request: Request, change_id: ChangeIdPath, form: FormDep, deps: ChangesDep, actor: CurrentActor
) -> Response:
    """Submit a draft; each customer's result is shown as its email is queued."""
    try:
        draft = drafts.get_draft(deps=deps, actor=actor, change_id=change_id)
    except NotFoundError:
        change = service.get(deps=deps, actor=actor, change_id=change_id)
        if repeated(change, actor, Action.SUBMIT, form):
            return RedirectResponse(result_url(change.change_id, Action.SUBMIT), status_code=303)
        raise
    return perform_page(request, deps, actor, draft, Action.SUBMIT, form)


HEADINGS: dict[Action | Retry, str] = {
    Action.SUBMIT: "Submitting for approval",
    Action.APPROVE: "Approving",
    Action.REJECT: "Rejecting",
    Action.COMPLETE: "Marking complete",
    Action.CANCEL: "Cancelling",
    RETRY: "Queuing the missing emails again",
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
    """approve, reject, complete, cancel, or retry (write the missing triggers).

    A form posted again (reloading its result) shows that result: it repeats nothing.
    """
    chosen = parse_action(action)
    change = service.get(deps=deps, actor=actor, change_id=change_id)
    if repeated(change, actor, chosen, form):
        return RedirectResponse(result_url(change.change_id, chosen), status_code=303)
    return perform_page(request, deps, actor, change, chosen, form)


def perform_page(
    request: Request,
    deps: ChangeDeps,
    actor: Actor,
    change: Change,
    action: Action | Retry,
    form: FormData,
) -> Response:
    """Run the action through the pipeline, streaming each customer's trigger result.

    A gate's refusal is a page listing its findings, with a reason field to override each gate.
    """
    comment = str(form.get("comment") or "").strip()[:2_000] or None
    wanted = ActionRequest(action=action, comment=comment, overrides=overrides_of(form))
    change_id = ChangeId(change.change_id)
    try:
        return stream_action(
            request,
            actor,
            change=change,
            heading=HEADINGS[action],
            result_url=result_url(change.change_id, action),
            run=lambda on_result: pipeline.perform(
                deps=deps,
                actor=actor,
                change_id=change_id,
                request=replace(wanted, on_result=on_result),
            ),
        )
    except GateRefusedError as refused:
        groups: dict[str | None, list[GateFinding]] = {}
        for finding in refused.findings:
            groups.setdefault(finding.customer_code, []).append(finding)
        ordered = sorted(groups.items(), key=lambda item: (item[0] is not None, item[0] or ""))
        shown = [FindingGroup(code, found) for code, found in ordered]
        context = {
            "change": change,
            "action": action,
            "gate_findings": {"action": str(action), "groups": shown},
            "gates": sorted({finding.gate for finding in refused.findings}),
            "comment": comment or "",
            "overrides": dict(wanted.overrides),
        }
        return render(request, "pages/gate_refused.html", actor, context, status=409)


def overrides_of(form: FormData) -> dict[str, str]:
    """``override_{gate}`` form fields with a reason (``actions.gates`` checks them)."""
    return {
        str(key).removeprefix(OVERRIDE_FIELD): str(value)
        for key, value in form.multi_items()
        if str(key).startswith(OVERRIDE_FIELD) and str(value).strip()
    }


OVERRIDE_FIELD = "override_"

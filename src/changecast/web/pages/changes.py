"""Create and edit pages: the change form, draft saving, and review-before-save of a new version."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from changecast.access.models import Actor
from changecast.access.policy import WRITERS, may_act_on, require_change_action
from changecast.actions import drafts, pipeline, service
from changecast.actions.context import ChangeDeps
from changecast.actions.pipeline import ActionRequest
from changecast.changes.models import Action, Change, ChangeEdit, ChangeStatus, timezone_names
from changecast.distribution.planner import schedule_changed
from changecast.errors import ConflictError, InvalidInputError, PermissionDeniedError
from changecast.ids import ChangeId
from changecast.web.deps import ChangeIdPath, ChangesDep, CurrentActor
from changecast.web.pages.diff import changed_only, diff_documents
from changecast.web.pages.forms import ChangeForm, ChangeFormError, field_errors
from changecast.web.pages.results import result_url
from changecast.web.pages.streaming import stream_action
from changecast.web.pages.templating import render
from changecast.web.pages.viewer import ViewerTz

router = APIRouter(include_in_schema=False)


def customer_choices(deps: ChangeDeps, actor: Actor) -> list[dict[str, Any]]:
    """Every customer, marking those the user may create changes for."""
    choices = []
    for code in deps.directory.codes:
        mapping = deps.directory.get(code)
        choices.append(
            {
                "code": code,
                "name": mapping.customer_name,
                "environment": mapping.environment,
                "production": mapping.is_production,
                "may_act": may_act_on(actor, Action.CREATE, [code]),
            }
        )
    return choices


def form_page(
    request: Request,
    deps: ChangeDeps,
    actor: Actor,
    *,
    mode: str,
    form: ChangeForm,
    change: Change | None = None,
    errors: dict[str, list[str]] | None = None,
    extra: dict[str, Any] | None = None,
) -> HTMLResponse:
    context = {
        "mode": mode,
        "form": form,
        "change": change,
        "errors": errors or {},
        "customers": customer_choices(deps, actor),
        "timezones": timezone_names(),
        "saved": request.query_params.get("saved") == "1",
        **(extra or {}),
    }
    return render(request, "pages/change_form.html", actor, context, status=422 if errors else 200)


def _service_errors(exc: InvalidInputError) -> dict[str, list[str]]:
    if exc.details:
        return field_errors(exc.details)
    return {"form": [exc.message]}


@router.get("/changes/new", response_class=HTMLResponse)
def new_change(request: Request, deps: ChangesDep, actor: CurrentActor, tz: ViewerTz) -> Response:
    if actor.role not in WRITERS:
        raise PermissionDeniedError(f"role {actor.role.value} may not create changes")
    return form_page(request, deps, actor, mode="create", form=ChangeForm(timezone=tz))


@router.post("/changes/new", response_class=HTMLResponse)
async def create_change(request: Request, deps: ChangesDep, actor: CurrentActor) -> Response:
    form = ChangeForm.from_form(await request.form())
    intent = str((await request.form()).get("intent") or "save")
    try:
        change = drafts.create_draft(deps=deps, actor=actor, data=form.to_input())
    except ChangeFormError as exc:
        return form_page(request, deps, actor, mode="create", form=form, errors=exc.errors)
    except InvalidInputError as exc:
        errors = _service_errors(exc)
        return form_page(request, deps, actor, mode="create", form=form, errors=errors)
    return _after_draft_save(change.change_id, intent)


def _after_draft_save(change_id: str, intent: str) -> RedirectResponse:
    if intent == "preview":
        return RedirectResponse(f"/changes/{change_id}/preview", status_code=303)
    return RedirectResponse(f"/changes/{change_id}/edit?saved=1", status_code=303)


@router.get("/changes/{change_id}/edit", response_class=HTMLResponse)
def edit_change(
    request: Request, change_id: ChangeIdPath, deps: ChangesDep, actor: CurrentActor
) -> Response:
    change = service.get(deps=deps, actor=actor, change_id=change_id)
    mode = "draft" if change.status is ChangeStatus.DRAFT else "edit"
    if mode == "edit" and change.status not in {ChangeStatus.SUBMITTED, ChangeStatus.APPROVED}:
        raise ConflictError(f"a {change.status.value} change cannot be edited", change_id=change_id)
    require_change_action(actor, Action.EDIT, change)
    form = ChangeForm.from_change(change)
    return form_page(request, deps, actor, mode=mode, form=form, change=change)


@router.post("/changes/{change_id}/edit", response_class=HTMLResponse)
async def save_change(
    request: Request, change_id: ChangeIdPath, deps: ChangesDep, actor: CurrentActor
) -> Response:
    raw = await request.form()
    form = ChangeForm.from_form(raw)
    intent = str(raw.get("intent") or "save")
    change = service.get(deps=deps, actor=actor, change_id=change_id)
    if change.status is ChangeStatus.DRAFT:
        return _save_draft(request, deps, actor, change, form, intent)
    # No repeat check here: an edit posted again against the version it showed is a stale edit
    # (409, with a link to the newer version) unless its content is what that version holds, and
    # a reload of the streamed result is a GET (its address is replaced by the result page).
    return _save_version(request, deps, actor, change, form, intent)


def _save_draft(
    request: Request, deps: ChangeDeps, actor: Actor, change: Change, form: ChangeForm, intent: str
) -> Response:
    change_id = ChangeId(change.change_id)
    try:
        drafts.update_draft(deps=deps, actor=actor, change_id=change_id, data=form.to_input())
    except ChangeFormError as exc:
        return form_page(
            request, deps, actor, mode="draft", form=form, change=change, errors=exc.errors
        )
    except InvalidInputError as exc:
        errors = _service_errors(exc)
        return form_page(
            request, deps, actor, mode="draft", form=form, change=change, errors=errors
        )
    return _after_draft_save(change.change_id, intent)


def review(change: Change, edit: ChangeEdit) -> dict[str, Any]:
    """The diff against the saved version, and whether invites will be updated."""
    after = change.model_copy(
        update={
            "change_metadata": edit.change_metadata,
            "email_notification": edit.email_notification,
            "meeting_invite": edit.meeting_invite,
            "kind": edit.kind,
            "announcement": edit.announcement,
        }
    )
    return {
        "diff": changed_only(diff_documents(change.to_json_dict(), after.to_json_dict())),
        "reviewed": True,
        "schedule_changed": schedule_changed(change, after),
        "was_approved": change.was_approved(),
    }


def _save_version(
    request: Request, deps: ChangeDeps, actor: Actor, change: Change, form: ChangeForm, intent: str
) -> Response:
    """Review shows the diff and the schedule warning; save archives version n+1."""
    if form.version != change.version:
        raise ConflictError(
            f"you edited version {form.version}, but the latest version is {change.version}",
            change_id=change.change_id,
            latest_version=change.version,
        )
    try:
        edit = form.to_edit()
    except ChangeFormError as exc:
        return form_page(
            request, deps, actor, mode="edit", form=form, change=change, errors=exc.errors
        )
    if intent != "save":
        extra = review(change, edit)
        return form_page(request, deps, actor, mode="edit", form=form, change=change, extra=extra)
    change_id = ChangeId(change.change_id)
    try:
        return stream_action(
            request,
            actor,
            change=change,
            heading=f"Saving version {change.version + 1}",
            result_url=result_url(change.change_id, Action.EDIT),
            run=lambda on_result: pipeline.perform(
                deps=deps,
                actor=actor,
                change_id=change_id,
                request=ActionRequest(action=Action.EDIT, edit=edit, on_result=on_result),
            ),
        )
    except InvalidInputError as exc:
        errors = _service_errors(exc)
        return form_page(request, deps, actor, mode="edit", form=form, change=change, errors=errors)


@router.post("/changes/{change_id}/delete")
def delete_draft(change_id: ChangeIdPath, deps: ChangesDep, actor: CurrentActor) -> Response:
    drafts.delete_draft(deps=deps, actor=actor, change_id=change_id)
    return RedirectResponse("/mine?tab=drafts", status_code=303)

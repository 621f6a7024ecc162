"""The change API: drafts, actions, versions and queries."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, status
from pydantic import BaseModel, ConfigDict, Field

from changecast.changes import drafts, service
from changecast.changes.context import ActionResult
from changecast.changes.models import (
    Action,
    Change,
    ChangeEdit,
    ChangeInput,
    ChangePage,
    ChangeQuery,
    ChangeStatus,
    Statistics,
    VersionSummary,
)
from changecast.distribution.models import DistributionReport
from changecast.errors import ConflictError, MalformedInputError, NotFoundError
from changecast.ids import CUSTOMER_CODE_PATTERN
from changecast.web.deps import ChangeIdPath, ChangesDep, CurrentActor

router = APIRouter(prefix="/api", tags=["changes"])


class ActionBody(BaseModel):
    """Optional body of an action: a comment for the history."""

    model_config = ConfigDict(extra="forbid")

    comment: str | None = Field(default=None, max_length=2_000)


def _doc(change: Change) -> dict[str, Any]:
    return change.to_json_dict()


def _result(result: ActionResult) -> dict[str, Any]:
    report = result.distribution
    return {
        "change": _doc(result.change),
        "distribution": report.model_dump(mode="json") if report else None,
        "complete": report.complete if report else True,
    }


@router.post("/changes", status_code=status.HTTP_201_CREATED)
def create(body: ChangeInput, deps: ChangesDep, actor: CurrentActor) -> dict[str, Any]:
    """Save a new draft. Drafts never send mail."""
    return _doc(drafts.create_draft(deps=deps, actor=actor, data=body))


@router.get("/changes")
def list_changes(
    deps: ChangesDep,
    actor: CurrentActor,
    status_: Annotated[ChangeStatus | None, Query(alias="status")] = None,
    customer: Annotated[str | None, Query(pattern=CUSTOMER_CODE_PATTERN)] = None,
    from_: Annotated[datetime | None, Query(alias="from")] = None,
    to: Annotated[datetime | None, Query()] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(alias="pageSize", ge=1, le=200)] = 25,
) -> ChangePage:
    """Changes, newest first, filtered by status, customer and window start."""
    query = ChangeQuery(
        status=status_,
        customer=customer,
        starts_from=from_,
        starts_to=to,
        page=page,
        page_size=page_size,
    )
    return service.find(deps=deps, actor=actor, query=query)


@router.get("/changes/search")
def search(
    deps: ChangesDep,
    actor: CurrentActor,
    q: Annotated[str, Query(min_length=1, max_length=200)],
    status_: Annotated[ChangeStatus | None, Query(alias="status")] = None,
    customer: Annotated[str | None, Query(pattern=CUSTOMER_CODE_PATTERN)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(alias="pageSize", ge=1, le=200)] = 25,
) -> ChangePage:
    """Full-text search, most relevant first."""
    query = ChangeQuery(text=q, status=status_, customer=customer, page=page, page_size=page_size)
    return service.find(deps=deps, actor=actor, query=query)


@router.get("/changes/statistics")
def statistics(deps: ChangesDep, actor: CurrentActor) -> Statistics:
    """Counts by status and upcoming windows."""
    return service.statistics(deps=deps, actor=actor)


@router.get("/my-changes")
def my_changes(
    deps: ChangesDep,
    actor: CurrentActor,
    status_: Annotated[ChangeStatus | None, Query(alias="status")] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> ChangePage:
    """Changes the signed-in user created."""
    query = ChangeQuery(status=status_, page=page)
    return service.my_changes(deps=deps, actor=actor, query=query)


@router.get("/changes/{change_id}")
def get_change(change_id: ChangeIdPath, deps: ChangesDep, actor: CurrentActor) -> dict[str, Any]:
    """The latest version of a change (or its draft)."""
    return _doc(service.get(deps=deps, actor=actor, change_id=change_id))


@router.put("/changes/{change_id}")
def put_change(
    change_id: ChangeIdPath, body: ChangeEdit, deps: ChangesDep, actor: CurrentActor
) -> dict[str, Any]:
    """Edit: a draft is updated in place; a submitted or approved change gets version n+1."""
    try:
        latest = deps.archive.get_latest(change_id)
    except NotFoundError:
        draft = drafts.get_draft(deps=deps, actor=actor, change_id=change_id)
        if body.version != draft.version:
            raise ConflictError(
                f"drafts stay at version {draft.version}; you sent {body.version}",
                latest_version=draft.version,
            ) from None
        data = ChangeInput.model_validate(body.model_dump(exclude={"version"}))
        updated = drafts.update_draft(deps=deps, actor=actor, change_id=change_id, data=data)
        return {"change": _doc(updated), "distribution": None, "complete": True}
    del latest
    return _result(service.edit(deps=deps, actor=actor, change_id=change_id, data=body))


@router.post("/changes/{change_id}/{action}")
def act(
    change_id: ChangeIdPath,
    action: str,
    deps: ChangesDep,
    actor: CurrentActor,
    body: Annotated[ActionBody | None, Body()] = None,
) -> dict[str, Any]:
    """submit, approve, reject, complete, cancel, or retry (write missing triggers)."""
    comment = body.comment if body else None
    if action == "submit":
        return _result(drafts.submit(deps=deps, actor=actor, change_id=change_id))
    if action == "retry":
        report = service.redistribute(deps=deps, actor=actor, change_id=change_id)
        return {"distribution": report.model_dump(mode="json"), "complete": report.complete}
    try:
        chosen = Action(action)
    except ValueError:
        chosen = None
    if chosen not in service.STATUS_ACTIONS or chosen is None:
        raise NotFoundError(
            f"unknown action {action[:30]!r}: use submit, approve, reject, complete, cancel "
            "or retry"
        )
    result = service.transition(
        deps=deps, actor=actor, change_id=change_id, action=chosen, comment=comment
    )
    return _result(result)


@router.get("/changes/{change_id}/versions")
def versions(
    change_id: ChangeIdPath, deps: ChangesDep, actor: CurrentActor
) -> list[VersionSummary]:
    """Every archived version, oldest first."""
    return service.versions(deps=deps, actor=actor, change_id=change_id)


@router.get("/changes/{change_id}/versions/{version}")
def version(
    change_id: ChangeIdPath, version: str, deps: ChangesDep, actor: CurrentActor
) -> dict[str, Any]:
    """One archived version, exactly as written."""
    if not version.isdigit() or not 1 <= int(version) <= 1_000_000:
        raise MalformedInputError(f"version {version[:20]!r} is not a positive whole number")
    change = service.get_version(deps=deps, actor=actor, change_id=change_id, version=int(version))
    return _doc(change)


@router.get("/drafts/{change_id}")
def get_draft(change_id: ChangeIdPath, deps: ChangesDep, actor: CurrentActor) -> dict[str, Any]:
    return _doc(drafts.get_draft(deps=deps, actor=actor, change_id=change_id))


@router.delete("/drafts/{change_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_draft(change_id: ChangeIdPath, deps: ChangesDep, actor: CurrentActor) -> None:
    drafts.delete_draft(deps=deps, actor=actor, change_id=change_id)


__all__ = ["DistributionReport", "router"]

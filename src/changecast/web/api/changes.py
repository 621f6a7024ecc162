"""The change API: drafts, actions, versions and queries."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response, status
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from changecast.access.policy import Visibility, change_summary
from changecast.actions import drafts, pipeline, service
from changecast.actions.context import ActionResult
from changecast.actions.pipeline import RETRY, ActionRequest, parse_action
from changecast.changes.models import (
    OVERRIDE_REASON_MAX,
    Action,
    Change,
    ChangeInput,
    ChangePage,
    ChangeQuery,
    ChangeStatus,
    NoticeKind,
    Statistics,
    VersionSummary,
    multi_line,
    single_line,
)
from changecast.changes.past_window import window_over
from changecast.changes.replacement import ChangeReplacement, check_replacement
from changecast.customers.directory import CustomerDirectory
from changecast.distribution.models import DistributionReport
from changecast.errors import ConflictError, MalformedInputError
from changecast.ids import CUSTOMER_CODE_PATTERN
from changecast.web.api.schemas import ERRORS, ActionOutcome, ChangeSummaryView, RetryOutcome
from changecast.web.deps import ChangeIdPath, ChangesDep, CurrentActor

router = APIRouter(prefix="/api", tags=["changes"], responses=ERRORS)
DOCUMENT: dict[str, Any] = {"response_model_exclude_none": True}
"""Change documents are served as stored: camelCase, without null fields."""


class ActionBody(BaseModel):
    """Optional body of an action: a comment for the history, and gate overrides.

    A cancel's comment (and a rejection's that withdraws an approved version) is also the
    reason the customers read in the cancellation (withdrawal) email.
    """

    model_config = ConfigDict(extra="forbid")

    comment: Annotated[str, AfterValidator(multi_line)] | None = Field(
        default=None, max_length=2_000
    )
    overrides: dict[
        str, Annotated[str, Field(max_length=OVERRIDE_REASON_MAX), AfterValidator(single_line)]
    ] = Field(default_factory=dict, max_length=10)
    """Gate name -> reason: act past that gate's blocking findings (kept and audited)."""


WARNING_HEADER = "Changecast-Warning"


def _result(result: ActionResult) -> ActionOutcome:
    report = result.distribution
    return ActionOutcome(
        change=result.change,
        distribution=report,
        complete=report.complete if report else True,
        warnings=result.warnings,
    )


def _names_of(directory: CustomerDirectory) -> Callable[[list[str]], list[str] | None]:
    def names(codes: list[str]) -> list[str] | None:
        known = set(directory.codes)
        return directory.names(codes) if all(code in known for code in codes) else None

    return names


@router.post("/changes", status_code=status.HTTP_201_CREATED, **DOCUMENT)
def create(body: ChangeInput, deps: ChangesDep, actor: CurrentActor, response: Response) -> Change:
    """Save a new draft. Drafts never send mail.

    A window already over is said in the ``Changecast-Warning`` header (submit and approve
    answers say it in ``warnings``).
    """
    change = drafts.create_draft(deps=deps, actor=actor, data=body)
    over = window_over(change, deps.clock.now())
    if over:
        response.headers[WARNING_HEADER] = over
    return change


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
    kind: Annotated[NoticeKind | None, Query()] = None,
) -> ChangePage:
    """Changes, newest first, filtered by status, customer, window start and notice kind."""
    query = ChangeQuery(
        status=status_,
        customer=customer,
        starts_from=from_,
        starts_to=to,
        kind=kind,
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


@router.get("/changes/{change_id}", **DOCUMENT)
def get_change(
    change_id: ChangeIdPath, deps: ChangesDep, actor: CurrentActor
) -> Change | ChangeSummaryView:
    """The latest version of a change (or its draft).

    A CustomerManager gets only a summary (``"visibility": "summary"``, their own customers) of a
    change that also names a customer they do not manage.
    """
    change, seen = service.look(deps=deps, actor=actor, change_id=change_id)
    if seen is Visibility.FULL:
        return change
    return ChangeSummaryView.model_validate(change_summary(actor, change))


@router.put("/changes/{change_id}", **DOCUMENT)
def put_change(
    change_id: ChangeIdPath,
    body: ChangeReplacement,
    deps: ChangesDep,
    actor: CurrentActor,
    response: Response,
) -> Change:
    """Edit: a draft is updated in place; a submitted or approved change gets version n+1.

    Send the document that GET returned, edited (or only ``version`` and the editable fields).
    Server-owned fields are ignored when they match the change and refused when they do not:
    409 for another ``changeId``, a stale ``version`` or a draft saved since; 422 naming the
    field otherwise. The answer is the change, as GET returns it; ``Distribution-Complete: false``
    says some customers' triggers are missing (``POST …/retry`` writes them).
    """
    current = service.get(deps=deps, actor=actor, change_id=change_id)
    edit = check_replacement(body, current, names_of=_names_of(deps.directory))
    if current.status is ChangeStatus.DRAFT:
        if edit.version != current.version:
            raise ConflictError(
                f"drafts stay at version {current.version}; you sent {edit.version}",
                latest_version=current.version,
            )
        data = ChangeInput.model_validate(edit.model_dump(exclude={"version"}))
        return drafts.update_draft(deps=deps, actor=actor, change_id=change_id, data=data)
    request = ActionRequest(action=Action.EDIT, edit=edit)
    result = pipeline.perform(deps=deps, actor=actor, change_id=change_id, request=request)
    report = result.distribution
    complete = report.complete if report else True
    response.headers["Distribution-Complete"] = "true" if complete else "false"
    if report is not None and not complete:
        response.headers["Distribution-Failed"] = ",".join(report.failed_customers)
    return result.change


@router.post("/changes/{change_id}/{action}")
def act(
    change_id: ChangeIdPath,
    action: str,
    deps: ChangesDep,
    actor: CurrentActor,
    body: Annotated[ActionBody | None, Body()] = None,
) -> ActionOutcome | RetryOutcome:
    """submit, approve, reject, complete, cancel, or retry (write missing triggers).

    A submit or approval that a gate refuses is a 409 whose ``findings`` list what it found;
    send ``overrides`` (gate name -> reason) to act past them.
    """
    chosen = parse_action(action)
    request = ActionRequest(
        action=chosen,
        comment=body.comment if body else None,
        overrides=body.overrides if body else {},
    )
    result = pipeline.perform(deps=deps, actor=actor, change_id=change_id, request=request)
    if chosen == RETRY:
        report = result.distribution
        assert report is not None  # a retry always reports its triggers
        return RetryOutcome(distribution=report, complete=report.complete)
    return _result(result)


@router.get("/changes/{change_id}/versions")
def versions(
    change_id: ChangeIdPath, deps: ChangesDep, actor: CurrentActor
) -> list[VersionSummary]:
    """Every archived version, oldest first."""
    return service.versions(deps=deps, actor=actor, change_id=change_id)


@router.get("/changes/{change_id}/versions/{version}", **DOCUMENT)
def version(change_id: ChangeIdPath, version: str, deps: ChangesDep, actor: CurrentActor) -> Change:
    """One archived version, exactly as written."""
    if not (version.isascii() and version.isdigit()) or not 1 <= int(version) <= 1_000_000:
        raise MalformedInputError(f"version {version[:20]!r} is not a positive whole number")
    return service.get_version(deps=deps, actor=actor, change_id=change_id, version=int(version))


@router.get("/drafts/{change_id}", **DOCUMENT)
def get_draft(change_id: ChangeIdPath, deps: ChangesDep, actor: CurrentActor) -> Change:
    """A draft (drafts live apart from the archive until they are submitted)."""
    return drafts.get_draft(deps=deps, actor=actor, change_id=change_id)


@router.delete("/drafts/{change_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_draft(change_id: ChangeIdPath, deps: ChangesDep, actor: CurrentActor) -> None:
    """Delete a draft (an archived change is cancelled instead, never deleted)."""
    drafts.delete_draft(deps=deps, actor=actor, change_id=change_id)


__all__ = ["DistributionReport", "router"]

"""Change use cases after submission: approve, reject, complete, cancel, edit; reads and queries.

Every function is keyword-only and takes the acting user, so one permission rule serves the API,
the pages and the CLI.
"""

from __future__ import annotations

from changecast.access.models import Actor
from changecast.access.policy import (
    Visibility,
    require_change_action,
    require_not_own_approval,
    require_visible,
    scope_query,
)
from changecast.audit.models import AuditAction
from changecast.changes.archive import Versioned, version_key
from changecast.changes.auditing import audit_change
from changecast.changes.context import (
    ActionResult,
    ChangeDeps,
    check_complete,
    check_customers,
    history_entry,
    now,
    with_customer_names,
)
from changecast.changes.models import (
    Action,
    Change,
    ChangeEdit,
    ChangePage,
    ChangeQuery,
    ChangeStatus,
    Statistics,
    VersionSummary,
)
from changecast.changes.resume import (
    archive_edit,
    previous_of,
    record_action,
    repeats_last_action,
    repeats_last_edit,
    with_retry_hint,
)
from changecast.changes.workflow import next_status
from changecast.distribution.models import DistributionReport
from changecast.distribution.planner import plan_triggers
from changecast.distribution.service import ResultCallback, write_triggers
from changecast.errors import ConflictError, NotFoundError
from changecast.ids import ChangeId

STATUS_ACTIONS = frozenset({Action.APPROVE, Action.REJECT, Action.COMPLETE, Action.CANCEL})


def _latest(deps: ChangeDeps, change_id: ChangeId) -> Versioned:
    try:
        return deps.archive.get_latest(change_id)
    except NotFoundError:
        try:
            deps.archive.get_draft(change_id)
        except NotFoundError:
            raise NotFoundError(f"change {change_id} not found", change_id=change_id) from None
        raise ConflictError(
            f"change {change_id} is a draft; submit it first", change_id=change_id
        ) from None


def _distribute(
    deps: ChangeDeps,
    *,
    action: Action,
    previous: Change | None,
    current: Change,
    actor: Actor,
    on_result: ResultCallback | None,
) -> DistributionReport:
    key = version_key(ChangeId(current.change_id), current.created_at, current.version)
    triggers = plan_triggers(
        action=action,
        previous=previous,
        current=current,
        archive_key=key,
        actor=actor.email,
        at=now(deps),
    )
    results = write_triggers(
        store=deps.archive.store,
        triggers=triggers,
        clock=deps.clock,
        concurrency=deps.trigger_concurrency,
        on_result=on_result,
    )
    return DistributionReport(change_id=current.change_id, version=current.version, results=results)


def transition(
    *,
    deps: ChangeDeps,
    actor: Actor,
    change_id: ChangeId,
    action: Action,
    comment: str | None = None,
    on_result: ResultCallback | None = None,
) -> ActionResult:
    """Approve, reject, complete or cancel the latest version, then notify its customers."""
    if action not in STATUS_ACTIONS:
        raise ValueError(f"{action} is not a status action")
    latest = _latest(deps, change_id)
    current = latest.change
    require_change_action(actor, action, current)
    if action is Action.APPROVE:
        require_not_own_approval(actor, current, allowed=deps.allow_self_approval)
    if repeats_last_action(current, action, actor):  # an interrupted retry: finish it
        return _resume(deps, actor=actor, action=action, current=current, on_result=on_result)
    try:
        status = next_status(current.status, action)
    except ConflictError as refused:
        raise with_retry_hint(refused, current, action) from None
    entry = history_entry(
        actor=actor,
        action=action,
        status=status,
        version=current.version,
        deps=deps,
        comment=comment,
    )
    moved = current.model_copy(
        update={
            "status": status,
            "modified_at": entry.at,
            "modified_by": actor.email,
            "history": [*current.history, entry],
        }
    )
    deps.archive.put_latest(moved, etag=latest.etag)
    report = _distribute(
        deps, action=action, previous=current, current=moved, actor=actor, on_result=on_result
    )
    record_action(deps, actor=actor, action=action, before=current, after=moved, comment=comment)
    return ActionResult(change=moved, distribution=report)


def _resume(
    deps: ChangeDeps,
    *,
    actor: Actor,
    action: Action,
    current: Change,
    on_result: ResultCallback | None,
) -> ActionResult:
    """Finish an action S3 already holds (latest says so): missing triggers, audit, index."""
    previous = previous_of(deps, current)
    report = _distribute(
        deps, action=action, previous=previous, current=current, actor=actor, on_result=on_result
    )
    comment = current.history[-1].comment
    record_action(deps, actor=actor, action=action, before=previous, after=current, comment=comment)
    return ActionResult(change=current, distribution=report)


def edit(
    *,
    deps: ChangeDeps,
    actor: Actor,
    change_id: ChangeId,
    data: ChangeEdit,
    on_result: ResultCallback | None = None,
) -> ActionResult:
    """Archive version n+1 from an edit of version n; it returns to submitted for approval."""
    latest = _latest(deps, change_id)
    current = latest.change
    require_visible(actor, current)  # before any conflict tells a stranger the latest version
    if data.version != current.version:
        repeated = current.model_copy(update=with_customer_names(data, deps.directory))
        if repeats_last_edit(current, repeated, edited_version=data.version, actor=actor):
            adding = data.change_metadata.customer_codes
            require_change_action(actor, Action.EDIT, current, adding=adding)
            return _resume(
                deps, actor=actor, action=Action.EDIT, current=current, on_result=on_result
            )
        raise ConflictError(
            f"you edited version {data.version}, but the latest version is {current.version}; "
            "reload the change and edit the latest version",
            change_id=change_id,
            latest_version=current.version,
        )
    adding = data.change_metadata.customer_codes
    require_change_action(actor, Action.EDIT, current, adding=adding)
    status = next_status(current.status, Action.EDIT)
    check_customers(data.change_metadata.customer_codes, deps.directory)
    version = current.version + 1
    entry = history_entry(
        actor=actor, action=Action.EDIT, status=status, version=version, deps=deps
    )
    edited = current.model_copy(
        update={
            "version": version,
            "status": status,
            "modified_at": entry.at,
            "modified_by": actor.email,
            "history": [*current.history, entry],
            **with_customer_names(data, deps.directory),
        }
    )
    check_complete(edited)
    edited = archive_edit(deps, edited, current=current, actor=actor)
    deps.archive.put_latest(edited, etag=latest.etag)
    report = _distribute(
        deps,
        action=Action.EDIT,
        previous=current,
        current=edited,
        actor=actor,
        on_result=on_result,
    )
    record_action(deps, actor=actor, action=Action.EDIT, before=current, after=edited)
    return ActionResult(change=edited, distribution=report)


def redistribute(
    *, deps: ChangeDeps, actor: Actor, change_id: ChangeId, on_result: ResultCallback | None = None
) -> DistributionReport:
    """Write again the triggers of the latest action; only the missing ones are written."""
    current = _latest(deps, change_id).change
    last = current.history[-1] if current.history else None
    if last is None:
        return DistributionReport(change_id=change_id, version=current.version)
    require_change_action(actor, last.action, current)
    previous = None
    if last.action is Action.EDIT and current.version > 1:
        previous = deps.archive.get_version(change_id, current.created_at, current.version - 1)
        previous = previous.model_copy(update={"status": _status_before(current)})
    report = _distribute(
        deps,
        action=last.action,
        previous=previous,
        current=current,
        actor=actor,
        on_result=on_result,
    )
    audit_change(deps, actor=actor, action=AuditAction.RETRY, before=current, after=current)
    return report


def _status_before(change: Change) -> ChangeStatus:
    """The status the change had just before its last history entry."""
    return change.history[-2].status if len(change.history) >= 2 else change.status


def get(*, deps: ChangeDeps, actor: Actor, change_id: ChangeId) -> Change:
    """The latest version of a change, or its draft, for an actor who sees it in full."""
    change, _ = look(deps=deps, actor=actor, change_id=change_id, summary=False)
    return change


def look(
    *, deps: ChangeDeps, actor: Actor, change_id: ChangeId, summary: bool = True
) -> tuple[Change, Visibility]:
    """The change and how much of it ``actor`` sees (``summary``: a summary is enough)."""
    try:
        change = deps.archive.get_latest(change_id).change
    except NotFoundError:
        try:
            change = deps.archive.get_draft(change_id).change
        except NotFoundError:
            raise NotFoundError(f"change {change_id} not found", change_id=change_id) from None
    return change, require_visible(actor, change, summary=summary)


def get_version(*, deps: ChangeDeps, actor: Actor, change_id: ChangeId, version: int) -> Change:
    """One archived version, exactly as it was written."""
    latest = _latest(deps, change_id).change
    require_visible(actor, latest)
    if not 1 <= version <= latest.version:
        raise NotFoundError(
            f"change {change_id} has versions 1 to {latest.version}, not {version}",
            change_id=change_id,
        )
    return deps.archive.get_version(change_id, latest.created_at, version)


def versions(*, deps: ChangeDeps, actor: Actor, change_id: ChangeId) -> list[VersionSummary]:
    latest = get(deps=deps, actor=actor, change_id=change_id)
    del latest
    return deps.index.versions(change_id)


def find(*, deps: ChangeDeps, actor: Actor, query: ChangeQuery) -> ChangePage:
    """List or search, limited to the changes ``actor`` sees in full (``access.policy``)."""
    return deps.index.find(scope_query(actor, query))


def my_changes(*, deps: ChangeDeps, actor: Actor, query: ChangeQuery) -> ChangePage:
    """The changes ``actor`` created."""
    return find(deps=deps, actor=actor, query=query.model_copy(update={"created_by": actor.email}))


def statistics(*, deps: ChangeDeps, actor: Actor, mine: bool = False) -> Statistics:
    scope = scope_query(actor, ChangeQuery())
    return deps.index.statistics(
        visible_customers=scope.visible_customers,
        now=deps.clock.now(),
        created_by=actor.email if mine else None,
        customerless_by=scope.customerless_by,
        include_drafts=scope.include_drafts,
    )

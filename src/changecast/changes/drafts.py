"""Draft use cases: create, update, delete, and submit (which turns a draft into version 1)."""

from __future__ import annotations

from changecast.access.models import Actor
from changecast.access.policy import require_action, require_view
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
from changecast.changes.models import Action, Change, ChangeInput, ChangeStatus
from changecast.changes.workflow import next_status
from changecast.distribution.models import DistributionReport
from changecast.distribution.planner import plan_triggers
from changecast.distribution.service import ResultCallback, write_triggers
from changecast.errors import ConflictError, NotFoundError
from changecast.ids import ChangeId, new_change_id


def create_draft(*, deps: ChangeDeps, actor: Actor, data: ChangeInput) -> Change:
    """Save a new draft. Drafts never produce a trigger."""
    require_action(actor, Action.CREATE, data.change_metadata.customer_codes)
    check_customers(data.change_metadata.customer_codes, deps.directory)
    created = now(deps)
    change = Change(
        change_id=new_change_id(),
        version=1,
        created_at=created,
        modified_at=created,
        created_by=actor.email,
        modified_by=actor.email,
        status=ChangeStatus.DRAFT,
        history=[
            history_entry(
                actor=actor, action=Action.CREATE, status=ChangeStatus.DRAFT, version=1, deps=deps
            )
        ],
        **with_customer_names(data, deps.directory),
    )
    deps.archive.put_draft(change, etag=None)
    audit_change(deps, actor=actor, action=AuditAction.CREATE, before=None, after=change)
    deps.index.upsert(change, archived=False)
    return change


def _load_draft(deps: ChangeDeps, change_id: ChangeId) -> Versioned:
    try:
        return deps.archive.get_draft(change_id)
    except NotFoundError:
        raise NotFoundError(f"no draft {change_id}", change_id=change_id) from None


def get_draft(*, deps: ChangeDeps, actor: Actor, change_id: ChangeId) -> Change:
    draft = _load_draft(deps, change_id).change
    require_view(actor, draft.customer_codes)
    return draft


def update_draft(
    *, deps: ChangeDeps, actor: Actor, change_id: ChangeId, data: ChangeInput
) -> Change:
    """Replace a draft's fields; a concurrent update of the same draft is a ``ConflictError``."""
    current = _load_draft(deps, change_id)
    codes = set(current.change.customer_codes) | set(data.change_metadata.customer_codes)
    require_action(actor, Action.EDIT, codes)
    check_customers(data.change_metadata.customer_codes, deps.directory)
    change = current.change.model_copy(
        update={
            "modified_at": now(deps),
            "modified_by": actor.email,
            **with_customer_names(data, deps.directory),
        }
    )
    deps.archive.put_draft(change, etag=current.etag)
    audit_change(deps, actor=actor, action=AuditAction.EDIT, before=current.change, after=change)
    deps.index.upsert(change, archived=False)
    return change


def delete_draft(*, deps: ChangeDeps, actor: Actor, change_id: ChangeId) -> None:
    current = _load_draft(deps, change_id)
    require_action(actor, Action.EDIT, current.change.customer_codes)
    deps.archive.delete_draft(change_id)
    audit_change(
        deps, actor=actor, action=AuditAction.DELETE_DRAFT, before=current.change, after=None
    )
    deps.index.remove(change_id)


def _archive_first_version(deps: ChangeDeps, change: Change) -> tuple[Change, str]:
    """Write version 1; if an interrupted submit already wrote it, carry on with that document."""
    try:
        return change, deps.archive.write_version(change)
    except ConflictError:
        try:
            deps.archive.get_latest(ChangeId(change.change_id))
        except NotFoundError:
            key = version_key(ChangeId(change.change_id), change.created_at, 1)
            return deps.archive.read(key), key
        raise


def submit(
    *,
    deps: ChangeDeps,
    actor: Actor,
    change_id: ChangeId,
    on_result: ResultCallback | None = None,
) -> ActionResult:
    """Archive a draft as version 1, point latest at it, then write one trigger per customer."""
    draft = _load_draft(deps, change_id).change
    require_action(actor, Action.SUBMIT, draft.customer_codes)
    status = next_status(draft.status, Action.SUBMIT)
    check_complete(draft)
    check_customers(draft.customer_codes, deps.directory)
    entry = history_entry(actor=actor, action=Action.SUBMIT, status=status, version=1, deps=deps)
    submitted = draft.model_copy(
        update={
            "status": status,
            "modified_at": entry.at,
            "modified_by": actor.email,
            "history": [*draft.history, entry],
        }
    )
    submitted, key = _archive_first_version(deps, submitted)
    deps.archive.put_latest(submitted, etag=None)
    audit_change(deps, actor=actor, action=AuditAction.SUBMIT, before=draft, after=submitted)
    deps.index.upsert(submitted, archived=True)
    deps.archive.delete_draft(change_id)
    triggers = plan_triggers(
        action=Action.SUBMIT,
        previous=None,
        current=submitted,
        archive_key=key,
        actor=actor.email,
        at=entry.at,
    )
    results = write_triggers(
        store=deps.archive.store,
        triggers=triggers,
        clock=deps.clock,
        concurrency=deps.trigger_concurrency,
        on_result=on_result,
    )
    report = DistributionReport(change_id=change_id, version=1, results=results)
    return ActionResult(change=submitted, distribution=report)

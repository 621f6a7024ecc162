"""Draft use cases: create, update, delete, and submit (which turns a draft into version 1)."""

from __future__ import annotations

import structlog

from changecast.access.models import Actor
from changecast.access.policy import require_action, require_change_action, require_visible
from changecast.audit.models import AuditAction
from changecast.audit.service import new_event
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
from changecast.changes.indexing import index_change, unindex_change
from changecast.changes.models import Action, Change, ChangeInput, ChangeStatus
from changecast.changes.resume import record_action, resubmittable, same_content
from changecast.changes.workflow import next_status
from changecast.distribution.models import DistributionReport
from changecast.distribution.planner import plan_triggers
from changecast.distribution.service import ResultCallback, write_triggers
from changecast.errors import (
    ChangecastError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    UnreadableDocumentError,
)
from changecast.ids import ChangeId, new_change_id

log = structlog.get_logger()


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
    index_change(deps, change, archived=False, action=Action.CREATE.value)
    return change


def _load_draft(deps: ChangeDeps, change_id: ChangeId) -> Versioned:
    try:
        return deps.archive.get_draft(change_id)
    except NotFoundError:
        raise NotFoundError(f"no draft {change_id}", change_id=change_id) from None


def get_draft(*, deps: ChangeDeps, actor: Actor, change_id: ChangeId) -> Change:
    draft = _load_draft(deps, change_id).change
    require_visible(actor, draft)
    return draft


def update_draft(
    *, deps: ChangeDeps, actor: Actor, change_id: ChangeId, data: ChangeInput
) -> Change:
    """Replace a draft's fields; a concurrent update of the same draft is a ``ConflictError``."""
    current = _load_draft(deps, change_id)
    adding = data.change_metadata.customer_codes  # a takeover of a customer-less draft is refused
    require_change_action(actor, Action.EDIT, current.change, adding=adding)
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
    index_change(deps, change, archived=False, action=Action.EDIT.value)
    return change


def delete_draft(*, deps: ChangeDeps, actor: Actor, change_id: ChangeId) -> None:
    try:
        current = _load_draft(deps, change_id)
    except UnreadableDocumentError:
        _delete_unreadable_draft(deps=deps, actor=actor, change_id=change_id)
        return
    require_change_action(actor, Action.EDIT, current.change)
    deps.archive.delete_draft(change_id)
    audit_change(
        deps, actor=actor, action=AuditAction.DELETE_DRAFT, before=current.change, after=None
    )
    unindex_change(deps, change_id, action=AuditAction.DELETE_DRAFT.value)


def _delete_unreadable_draft(*, deps: ChangeDeps, actor: Actor, change_id: ChangeId) -> None:
    """A draft that no longer loads can still be deleted, by whoever may edit what it names."""
    created_by, codes = deps.archive.draft_owner(change_id)
    require_action(actor, Action.EDIT, codes)
    if not codes and created_by.strip().lower() != actor.email.strip().lower():
        raise PermissionDeniedError("a draft naming no customer belongs to its creator alone")
    deps.archive.delete_draft(change_id)
    log.warning("unreadable_draft_deleted", change_id=change_id, by=actor.email)
    if deps.audit is not None:
        event = new_event(
            actor=actor,
            action=AuditAction.DELETE_DRAFT,
            clock=deps.clock,
            change_id=change_id,
            customers=sorted(codes),
            comment="the stored draft no longer loaded",
        )
        deps.audit.record(event)
    unindex_change(deps, change_id, action=AuditAction.DELETE_DRAFT.value)


def _archive_first_version(deps: ChangeDeps, change: Change) -> tuple[Change, str]:
    """Write version 1; if an interrupted submit already wrote it, carry on with that document.

    Version 1 without a latest pointer was never visible: it is adopted when it holds what this
    submit would write. Otherwise it is kept (versions are immutable) and this submit refused.
    """
    change_id = ChangeId(change.change_id)
    key = version_key(change_id, change.created_at, 1)
    try:
        return change, deps.archive.write_version(change)
    except ConflictError:
        orphan = deps.archive.read(key)
        if same_content(orphan, change):
            log.info("submit_resumed", change_id=change_id, step="archived version 1")
            return orphan, key
        raise ConflictError(
            f"an interrupted submit of change {change_id} by {orphan.modified_by} archived "
            "version 1 with other content than the draft has now; restore the draft to what "
            "was submitted and submit again",
            change_id=change_id,
        ) from None


def submit(
    *,
    deps: ChangeDeps,
    actor: Actor,
    change_id: ChangeId,
    on_result: ResultCallback | None = None,
) -> ActionResult:
    """Archive a draft as version 1, point latest at it, write one trigger per customer.

    Then the audit event and the index (whose failure never fails the submit), and last the draft
    is deleted. A draft next to a latest pointer is therefore an interrupted submit: submitting
    it again writes only what is missing (triggers are conditional writes, never duplicates).
    """
    draft = _load_draft(deps, change_id).change
    require_change_action(actor, Action.SUBMIT, draft)
    try:
        latest: Change | None = deps.archive.get_latest(change_id).change
    except NotFoundError:
        latest = None
    if latest is not None:
        return _resume_submit(deps, actor=actor, draft=draft, latest=latest, on_result=on_result)
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
    submitted, _ = _archive_first_version(deps, submitted)
    deps.archive.put_latest(submitted, etag=None)
    return _after_submit(deps, actor=actor, draft=draft, submitted=submitted, on_result=on_result)


def _resume_submit(
    deps: ChangeDeps,
    *,
    actor: Actor,
    draft: Change,
    latest: Change,
    on_result: ResultCallback | None,
) -> ActionResult:
    """The draft outlived its latest pointer: finish that submit, unless the change moved on."""
    change_id = ChangeId(latest.change_id)
    if resubmittable(latest):
        log.info("submit_resumed", change_id=change_id, step="latest written")
        return _after_submit(deps, actor=actor, draft=draft, submitted=latest, on_result=on_result)
    _delete_submitted_draft(deps, change_id)
    raise ConflictError(
        f"change {change_id} was already submitted and is now {latest.status.value} "
        f"(version {latest.version}); reload it",
        change_id=change_id,
        latest_version=latest.version,
    )


def _after_submit(
    deps: ChangeDeps,
    *,
    actor: Actor,
    draft: Change,
    submitted: Change,
    on_result: ResultCallback | None,
) -> ActionResult:
    """Everything after the latest pointer, each step safe to repeat: triggers, audit, index."""
    change_id = ChangeId(submitted.change_id)
    entry = submitted.history[-1]
    triggers = plan_triggers(
        action=Action.SUBMIT,
        previous=None,
        current=submitted,
        archive_key=version_key(change_id, submitted.created_at, 1),
        actor=entry.by,
        at=entry.at,
    )
    results = write_triggers(
        store=deps.archive.store,
        triggers=triggers,
        clock=deps.clock,
        concurrency=deps.trigger_concurrency,
        on_result=on_result,
    )
    record_action(deps, actor=actor, action=Action.SUBMIT, before=draft, after=submitted)
    _delete_submitted_draft(deps, change_id)
    report = DistributionReport(change_id=change_id, version=1, results=results)
    return ActionResult(change=submitted, distribution=report)


def _delete_submitted_draft(deps: ChangeDeps, change_id: ChangeId) -> None:
    """The last step of a submit; a draft left behind is shadowed by latest (and retried)."""
    try:
        deps.archive.delete_draft(change_id)
    except ChangecastError as exc:
        log.warning("draft_delete_failed", change_id=change_id, error=exc.message)

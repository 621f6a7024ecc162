"""Draft use cases: create, read, update and delete. Submitting one is ``actions.pipeline``."""

from __future__ import annotations

import structlog

from changecast.access.models import Actor
from changecast.access.policy import require_action, require_change_action, require_visible
from changecast.actions.auditing import audit_change
from changecast.actions.context import (
    ChangeDeps,
    check_customers,
    history_entry,
    now,
    with_customer_names,
)
from changecast.actions.indexing import index_change, unindex_change
from changecast.audit.models import AuditAction
from changecast.audit.service import new_event
from changecast.changes.archive import Versioned
from changecast.changes.models import Action, Change, ChangeInput, ChangeStatus
from changecast.errors import (
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

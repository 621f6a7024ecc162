"""Authorize, load and decide: what an action on a change will write, before anything is written.

The decision is made from S3 alone (the latest pointer, the draft) with the pure workflow
(``changes.workflow``); an action S3 already holds, retried by the same user, is a resumed
decision (``actions.resume``).
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from changecast.access.models import Actor
from changecast.access.policy import (
    require_change_action,
    require_not_own_approval,
    require_visible,
)
from changecast.actions.context import (
    ChangeDeps,
    check_complete,
    check_customers,
    history_entry,
    with_customer_names,
)
from changecast.actions.resume import (
    previous_of,
    repeats_last_action,
    repeats_last_edit,
    resubmittable,
    with_retry_hint,
)
from changecast.actions.service import latest_of
from changecast.changes.models import Action, Change, ChangeEdit
from changecast.changes.workflow import next_status
from changecast.errors import ChangecastError, ConflictError, NotFoundError
from changecast.ids import ChangeId

log = structlog.get_logger()

STATUS_ACTIONS = frozenset({Action.APPROVE, Action.REJECT, Action.COMPLETE, Action.CANCEL})


@dataclass(frozen=True)
class Decision:
    """What an action will do, decided before anything is written."""

    action: Action
    before: Change
    """What the audit event compares with (the draft, for a submit)."""
    previous: Change | None
    """What the planner compares with (None for a submit)."""
    current: Change
    """The document the action archives (or, resumed, already archived)."""
    etag: str | None
    """The latest pointer's etag to replace; None creates it (submit)."""
    resumed: bool = False
    """S3 already holds this action: no gates, no archive; finish the rest."""
    comment: str | None = None


def decide(
    deps: ChangeDeps,
    *,
    actor: Actor,
    change_id: ChangeId,
    action: Action,
    comment: str | None = None,
    edit: ChangeEdit | None = None,
) -> Decision:
    """Authorize, load and decide ``action`` (submit, edit, approve, reject, complete, cancel)."""
    if action is Action.SUBMIT:
        return _decide_submit(deps, actor=actor, change_id=change_id)
    if action is Action.EDIT:
        if edit is None:
            raise ValueError("an edit needs the edited document")
        return _decide_edit(deps, actor=actor, change_id=change_id, data=edit)
    if action in STATUS_ACTIONS:
        return _decide_status(
            deps, actor=actor, change_id=change_id, action=action, comment=comment
        )
    raise ValueError(f"{action} is not an action on a change")


def _refuse_submit_of_archived(deps: ChangeDeps, actor: Actor, change_id: ChangeId) -> None:
    """A submit of a change past its draft says where the change is (not "no draft")."""
    try:
        latest = deps.archive.get_latest(change_id).change
    except NotFoundError:
        return
    require_visible(actor, latest)
    raise ConflictError(
        f"change {change_id} is {latest.status.value} (version {latest.version}), not a draft: "
        "only a draft is submitted",
        change_id=change_id,
        status=latest.status.value,
    )


def _decide_submit(deps: ChangeDeps, *, actor: Actor, change_id: ChangeId) -> Decision:
    """A draft becomes version 1, submitted; a draft beside latest is an interrupted submit."""
    try:
        draft = deps.archive.get_draft(change_id).change
    except NotFoundError:
        _refuse_submit_of_archived(deps, actor, change_id)
        raise NotFoundError(f"no draft {change_id}", change_id=change_id) from None
    require_change_action(actor, Action.SUBMIT, draft)
    try:
        latest: Change | None = deps.archive.get_latest(change_id).change
    except NotFoundError:
        latest = None
    if latest is not None:
        if resubmittable(latest):
            log.info("submit_resumed", change_id=change_id, step="latest written")
            return Decision(Action.SUBMIT, draft, None, latest, etag=None, resumed=True)
        delete_submitted_draft(deps, change_id)
        raise ConflictError(
            f"change {change_id} was already submitted and is now {latest.status.value} "
            f"(version {latest.version}); reload it",
            change_id=change_id,
            latest_version=latest.version,
        )
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
    return Decision(Action.SUBMIT, draft, None, submitted, etag=None)


def _decide_status(
    deps: ChangeDeps,
    *,
    actor: Actor,
    change_id: ChangeId,
    action: Action,
    comment: str | None,
) -> Decision:
    """Approve, reject, complete or cancel the latest version."""
    latest = latest_of(deps, change_id)
    current = latest.change
    require_change_action(actor, action, current)
    if action is Action.APPROVE:
        require_not_own_approval(actor, current, allowed=deps.allow_self_approval)
    if repeats_last_action(current, action, actor):  # an interrupted retry: finish it
        previous = previous_of(deps, current)
        return Decision(
            action,
            previous,
            previous,
            current,
            etag=latest.etag,
            resumed=True,
            comment=current.history[-1].comment,
        )
    try:
        status = next_status(current.status, action, current.kind)
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
    return Decision(action, current, current, moved, etag=latest.etag, comment=comment)


def _decide_edit(
    deps: ChangeDeps, *, actor: Actor, change_id: ChangeId, data: ChangeEdit
) -> Decision:
    """Version n+1 from an edit of version n; it returns to submitted for approval."""
    latest = latest_of(deps, change_id)
    current = latest.change
    require_visible(actor, current)  # before any conflict tells a stranger the latest version
    adding = data.change_metadata.customer_codes
    if data.version != current.version:
        repeated = current.model_copy(update=with_customer_names(data, deps.directory))
        if repeats_last_edit(current, repeated, edited_version=data.version, actor=actor):
            require_change_action(actor, Action.EDIT, current, adding=adding)
            previous = previous_of(deps, current)
            return Decision(
                Action.EDIT,
                previous,
                previous,
                current,
                etag=latest.etag,
                resumed=True,
                comment=current.history[-1].comment,
            )
        raise ConflictError(
            f"you edited version {data.version}, but the latest version is {current.version}; "
            "reload the change and edit the latest version",
            change_id=change_id,
            latest_version=current.version,
        )
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
    return Decision(Action.EDIT, current, current, edited, etag=latest.etag)


def delete_submitted_draft(deps: ChangeDeps, change_id: ChangeId) -> None:
    """The last step of a submit; a draft left behind is shadowed by latest (and retried)."""
    try:
        deps.archive.delete_draft(change_id)
    except ChangecastError as exc:
        log.warning("draft_delete_failed", change_id=change_id, error=exc.message)

"""Retried actions that complete an interrupted one, judged from the S3 state alone.

Every action writes S3 in one order: the archived version (submit, edit), the latest pointer,
then the triggers, the audit event and the index. So what S3 holds tells what is missing:

- version n+1 exists, latest is still at n: interrupted before the latest pointer. The same edit
  by the same user, retried, adopts version n+1 and goes on.
- latest's last history entry is this action by this user: interrupted after the latest pointer.
  A retry writes the missing triggers, the audit event and the index.
- a draft next to a latest pointer at version 1 (submit): interrupted before the draft was
  deleted. Submitting again does the same, then deletes the draft.

Trigger writes are conditional (``If-None-Match``), so a retry writes only the missing ones and a
customer never gets a trigger twice; the worker's ledger dedups recipients in any case.
"""

from __future__ import annotations

import structlog

from changecast.access.models import Actor
from changecast.actions.auditing import audit_change, history_event_id
from changecast.actions.context import ChangeDeps
from changecast.actions.indexing import index_change
from changecast.changes.models import Action, Change, ChangeStatus
from changecast.errors import ConflictError, NotFoundError
from changecast.ids import ChangeId
from changecast.layout import version_key

log = structlog.get_logger()

RETRY_HINT = (
    "if its notifications are missing, retry them: POST /api/changes/{id}/retry, "
    "or `changecast change retry {id}`"
)


CONTENT_FIELDS = ("changeMetadata", "emailNotification", "meetingInvite")


def same_content(a: Change, b: Change) -> bool:
    """Whether two documents carry the same user-edited fields (bookkeeping aside).

    Compared as stored JSON: a document built from input models equals the one read back.
    """
    left, right = a.to_json_dict(), b.to_json_dict()
    return all(left.get(name) == right.get(name) for name in CONTENT_FIELDS)


def _same_person(a: str, b: str) -> bool:
    return a.strip().lower() == b.strip().lower()


def repeats_last_action(current: Change, action: Action, actor: Actor) -> bool:
    """Whether ``current``'s last history entry is ``action`` by ``actor`` on this version."""
    last = current.history[-1] if current.history else None
    return (
        last is not None
        and last.action is action
        and last.version == current.version
        and _same_person(last.by, actor.email)
    )


def repeats_last_edit(
    current: Change, edited: Change, *, edited_version: int, actor: Actor
) -> bool:
    """Whether an edit of version ``edited_version`` is the one that made ``current``."""
    return (
        edited_version == current.version - 1
        and repeats_last_action(current, Action.EDIT, actor)
        and same_content(current, edited)
    )


def previous_of(deps: ChangeDeps, current: Change) -> Change:
    """The latest document as it was just before its last history entry (what the action saw)."""
    if len(current.history) < 2:
        return current
    before = current.history[-2]
    base = current
    if current.history[-1].action is Action.EDIT and current.version > 1:
        base = deps.archive.get_version(
            ChangeId(current.change_id), current.created_at, current.version - 1
        )
    return base.model_copy(
        update={
            "status": before.status,
            "history": current.history[:-1],
            "modified_at": before.at,
            "modified_by": before.by,
        }
    )


def record_action(
    deps: ChangeDeps,
    *,
    actor: Actor,
    action: Action,
    before: Change,
    after: Change,
    comment: str | None = None,
    overrides: str | None = None,
) -> None:
    """The index, then the audit event: the steps after the triggers (neither ever raises).

    ``overrides`` (JSON) is the audit event's ``overrides`` detail: the gates acted past.
    """
    index_change(deps, after, archived=True, action=action.value)
    audit_change(
        deps,
        actor=actor,
        action=action,
        before=before,
        after=after,
        comment=comment,
        event_id=history_event_id(after),
        detail={"overrides": overrides} if overrides else None,
    )


def with_retry_hint(error: ConflictError, current: Change, action: Action) -> ConflictError:
    """A refused status action on a change that already had it: say how to finish its mail."""
    last = current.history[-1] if current.history else None
    if last is None or last.action is not action:
        return error
    hint = RETRY_HINT.format(id=current.change_id)
    return ConflictError(
        f"{error.message}; {last.by} already did {action.value} at {last.at.isoformat()}; {hint}",
        **error.context,
    )


def archive_edit(deps: ChangeDeps, edited: Change, *, current: Change, actor: Actor) -> Change:
    """Write version n+1; adopt one an interrupted identical edit by ``actor`` left behind."""
    try:
        deps.archive.write_version(edited)
    except ConflictError as refused:
        key = version_key(ChangeId(edited.change_id), edited.created_at, edited.version)
        try:
            orphan = deps.archive.read(key)
        except NotFoundError:
            raise refused from None
        if (
            same_content(orphan, edited)
            and _same_person(orphan.modified_by, actor.email)
            and orphan.history[:-1] == current.history
        ):
            log.info("edit_resumed", change_id=edited.change_id, version=edited.version)
            return orphan
        raise ConflictError(
            f"{refused.message} (written by {orphan.modified_by} at "
            f"{orphan.modified_at.isoformat()}, but the latest pointer is still at version "
            f"{current.version}: another edit is under way, or was interrupted; repeat that same "
            "edit to finish it)",
            **refused.context,
        ) from None
    return edited


def resubmittable(latest: Change) -> bool:
    """Whether latest is a submit that was interrupted before its draft was deleted."""
    last = latest.history[-1] if latest.history else None
    return (
        latest.version == 1
        and latest.status is ChangeStatus.SUBMITTED
        and last is not None
        and last.action is Action.SUBMIT
    )

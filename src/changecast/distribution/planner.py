"""Pure fan-out planning: from a change and the action just taken, the triggers to write.

| action | the version replaces an approved one? | events |
|---|---|---|
| submit, edit | no | submitted (approval request) |
| edit | yes | submitted (approval request showing the diff against the approved version) |
| approve | no | approved |
| approve | yes | updated (what changed; a new invite only if schedule or meeting changed) |
| reject | no | none |
| reject | yes | withdrawn (the approved schedule no longer stands; its invite is cancelled) |
| complete | either | completed |
| cancel | either | cancelled |
| create | either | none |

A version replaces an approved one when an earlier version was approved
(``workflow.replaced_version``); those triggers carry it as ``replaces_version``. Saving an edit
only asks the approvers: customers hear of the new version once it is approved.
"""

from __future__ import annotations

from datetime import datetime

from changecast.changes.models import Action, Change, ChangeStatus
from changecast.changes.workflow import replaced_version
from changecast.distribution.models import (
    SHOWS_REPLACED,
    DistributionEvent,
    Trigger,
    invite_changed,
)

E = DistributionEvent

_EVENT_OF = {
    Action.SUBMIT: E.SUBMITTED,
    Action.EDIT: E.SUBMITTED,
    Action.APPROVE: E.APPROVED,
    Action.COMPLETE: E.COMPLETED,
    Action.CANCEL: E.CANCELLED,
}
_REPLACING = {
    Action.SUBMIT: E.SUBMITTED,
    Action.EDIT: E.SUBMITTED,
    Action.APPROVE: E.UPDATED,
    Action.REJECT: E.WITHDRAWN,
}


def schedule_changed(before: Change, after: Change) -> bool:
    """Whether the invite a customer holds would differ: schedule or meeting invite changed."""
    return invite_changed(before, after)


def events_for(action: Action, *, current: Change) -> list[DistributionEvent]:
    """The events that ``action`` on ``current`` produces (see the module table)."""
    if replaced_version(current.history, current.version) is not None:
        event = _REPLACING.get(action, _EVENT_OF.get(action))
    else:
        event = _EVENT_OF.get(action)
    if event is E.COMPLETED and not current.is_announcement:
        return [E.COMPLETED, E.SURVEY]  # the survey follows the completion notice
    return [] if event is None else [event]


_REASON_OF = {E.CANCELLED: Action.CANCEL, E.WITHDRAWN: Action.REJECT}
"""The events whose email gives the reason typed with the action that caused them."""


def action_reason(change: Change, event: DistributionEvent) -> str | None:
    """The comment of the cancel (or the rejection that withdraws) behind ``event``, if any."""
    action = _REASON_OF.get(event)
    if action is None:
        return None
    for entry in reversed(change.history):
        if entry.action is action and entry.version == change.version:
            return (entry.comment or "").strip() or None
    return None


def plan_triggers(
    *,
    action: Action,
    previous: Change | None,
    current: Change,
    archive_key: str,
    actor: str,
    at: datetime,
) -> list[Trigger]:
    """One trigger per (event, customer) for ``action`` on ``current``, in a stable order."""
    was_approved = current.was_approved() or (
        previous is not None and previous.status is ChangeStatus.APPROVED
    )
    replaces = replaced_version(current.history, current.version)
    return [
        Trigger(
            change_id=current.change_id,
            version=current.version,
            event=event,
            customer_code=code,
            archive_key=archive_key,
            was_approved=was_approved,
            invite_sent=was_approved,
            replaces_version=replaces if event in SHOWS_REPLACED else None,
            actor=actor,
            created_at=at,
            reason=action_reason(current, event),
        )
        for event in events_for(action, current=current)
        for code in current.customer_codes
    ]

"""Pure fan-out planning: from a change and the action just taken, the triggers to write.

| action | events |
|---|---|
| submit | submitted |
| edit | submitted; plus updated when an approved change's schedule or invite changed |
| approve | approved |
| complete | completed |
| cancel | cancelled |
| reject, create | none |
"""

from __future__ import annotations

from datetime import datetime

from changecast.changes.models import Action, Change, ChangeStatus
from changecast.delivery.models import DistributionEvent
from changecast.distribution.models import Trigger

_EVENT_OF = {
    Action.SUBMIT: DistributionEvent.SUBMITTED,
    Action.EDIT: DistributionEvent.SUBMITTED,
    Action.APPROVE: DistributionEvent.APPROVED,
    Action.COMPLETE: DistributionEvent.COMPLETED,
    Action.CANCEL: DistributionEvent.CANCELLED,
}


def schedule_changed(before: Change, after: Change) -> bool:
    """Whether the invite a customer holds would differ: schedule or meeting invite changed."""
    return (
        before.change_metadata.schedule != after.change_metadata.schedule
        or before.meeting_invite != after.meeting_invite
    )


def events_for(
    action: Action, *, previous: Change | None, current: Change
) -> list[DistributionEvent]:
    """The events that ``action`` produces (see the module table)."""
    event = _EVENT_OF.get(action)
    if event is None:
        return []
    events = [event]
    if (
        action is Action.EDIT
        and previous is not None
        and previous.status is ChangeStatus.APPROVED
        and schedule_changed(previous, current)
    ):
        events.append(DistributionEvent.UPDATED)
    return events


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
    return [
        Trigger(
            change_id=current.change_id,
            version=current.version,
            event=event,
            customer_code=code,
            archive_key=archive_key,
            was_approved=was_approved,
            invite_sent=was_approved,
            actor=actor,
            created_at=at,
        )
        for event in events_for(action, previous=previous, current=current)
        for code in current.customer_codes
    ]

"""The change state machine, as pure functions: which action leads from which status to which.

An edit of an approved change is version n+1, submitted: the approved version n still stands
until n+1 is approved (it then replaces n) or rejected. Rejecting a version that replaces an
approved one ends the change (rejected, terminal): the approved schedule is withdrawn with it.
"""

from __future__ import annotations

from collections.abc import Iterable

from changecast.changes.models import Action, ChangeStatus, HistoryEntry, NoticeKind
from changecast.errors import ConflictError

S = ChangeStatus
A = Action

TRANSITIONS: dict[tuple[ChangeStatus, Action], ChangeStatus] = {
    (S.DRAFT, A.SUBMIT): S.SUBMITTED,
    (S.SUBMITTED, A.APPROVE): S.APPROVED,
    (S.SUBMITTED, A.REJECT): S.REJECTED,
    (S.APPROVED, A.COMPLETE): S.COMPLETED,
    (S.SUBMITTED, A.CANCEL): S.CANCELLED,
    (S.APPROVED, A.CANCEL): S.CANCELLED,
    (S.SUBMITTED, A.EDIT): S.SUBMITTED,
    (S.APPROVED, A.EDIT): S.SUBMITTED,
}

TERMINAL = frozenset({S.REJECTED, S.COMPLETED, S.CANCELLED})

# An announcement is published (approved) and may be withdrawn (cancel); it is never "completed":
# there is no window whose work ends, and no post-change survey.
NOT_FOR: dict[NoticeKind, frozenset[Action]] = {NoticeKind.ANNOUNCEMENT: frozenset({A.COMPLETE})}


def next_status(
    current: ChangeStatus, action: Action, kind: NoticeKind = NoticeKind.CHANGE
) -> ChangeStatus:
    """The status after ``action``; a ``ConflictError`` when the action is not allowed now."""
    if action in allowed_actions(current, kind):
        return TRANSITIONS[(current, action)]
    allowed = ", ".join(sorted(a.value for a in allowed_actions(current, kind))) or "none"
    noun = "an announcement" if kind is NoticeKind.ANNOUNCEMENT else "a change"
    raise ConflictError(
        f"cannot {action.value} {noun} that is {current.value} (allowed now: {allowed})",
        status=current.value,
        action=action.value,
    )


def allowed_actions(
    current: ChangeStatus, kind: NoticeKind = NoticeKind.CHANGE
) -> frozenset[Action]:
    """Every action the state machine allows from ``current`` (permissions: access.policy)."""
    refused = NOT_FOR.get(kind, frozenset())
    return frozenset(
        action for (status, action) in TRANSITIONS if status is current and action not in refused
    )


def makes_new_version(action: Action) -> bool:
    """Only an edit creates a new archived version; other actions move the status of the latest."""
    return action is Action.EDIT


def replaced_version(history: Iterable[HistoryEntry], version: int) -> int | None:
    """The approved version that ``version`` replaces: the last one approved before it, if any."""
    approved = [e.version for e in history if e.action is Action.APPROVE and e.version < version]
    return max(approved, default=None)

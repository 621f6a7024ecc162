"""Currency: whether a trigger is still what the change's customers should get now.

One rule, used before every send (first delivery, retries, redrive, redeliver, scheduler
notices: ``workers.processing``), by ``redeliver`` and ``worker redrive --dry-run`` to choose
what to queue, and by the delivery status (``delivery.status``) to tell which events still
decide a customer's state. It compares the trigger's version and event with the change's
current document (``archive/latest/{id}.json``), never with the time the trigger was written:

- submitted (approval request) of v: while v is the latest version and awaits approval;
- approved, updated of v: while v is the standing approved version (no later version was
  approved) and the change has not ended (completed, cancelled, rejected);
- reminder: as an approval of v, and before v's window starts; window_open: as an approval
  of v, and before v's window ends; window_closed: as an approval of v;
- nudge of v: while v is the standing approved version and the change is still approved;
- withdrawn, completed, cancelled, survey: always (the last word on the change).

The standing approved version is the latest version approved (an edit awaiting approval leaves
it standing). A superseded trigger sends nothing; it is recorded ``superseded`` with what
superseded it (``Superseded.by``), and it is never a failure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from changecast.changes.archive import ChangeArchive
from changecast.changes.models import Action, Change, ChangeStatus, HistoryEntry
from changecast.distribution.models import DistributionEvent
from changecast.errors import NotFoundError
from changecast.ids import ChangeId
from changecast.ports import ObjectStore

E = DistributionEvent
APPROVALS = frozenset({E.APPROVED, E.UPDATED})
WINDOW_NOTICES = frozenset({E.REMINDER, E.WINDOW_OPEN, E.WINDOW_CLOSED})
LAST_WORDS = frozenset({E.WITHDRAWN, E.COMPLETED, E.CANCELLED, E.SURVEY})
ENDED = frozenset({ChangeStatus.COMPLETED, ChangeStatus.CANCELLED, ChangeStatus.REJECTED})
_ENDS = frozenset({Action.REJECT, Action.CANCEL, Action.COMPLETE})
_MOVES_ON = _ENDS | {Action.APPROVE}


@dataclass(frozen=True)
class Superseded:
    """Why a trigger is no longer current: ``by`` names what superseded it, for people."""

    by: str


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _entry(entry: HistoryEntry) -> str:
    return f"{entry.action.value} of v{entry.version} by {entry.by} at {_stamp(entry.at)}"


def standing_approved(change: Change) -> int | None:
    """The latest approved version of ``change`` (its history, and its own status)."""
    approved = {e.version for e in change.history if e.action is Action.APPROVE}
    if change.status is ChangeStatus.APPROVED:
        approved.add(change.version)
    return max(approved, default=None)


def _state(change: Change) -> str:
    return f"v{change.version} is {change.status.value}"


def _after_request(version: int, latest: Change) -> str:
    """What moved the change past version ``version``'s approval request."""
    for entry in latest.history:
        if entry.version > version or (entry.version == version and entry.action in _MOVES_ON):
            return _entry(entry)
    return _state(latest)


def _after_approval(version: int, latest: Change) -> str:
    """What ended version ``version``'s approval: a later approval, or the change's end."""
    for entry in latest.history:
        if entry.action is Action.APPROVE and entry.version > version:
            return _entry(entry)
        if entry.action in _ENDS and entry.status in ENDED:
            return _entry(entry)
    standing = standing_approved(latest)
    if standing is None:
        return f"no version of the change is approved ({_state(latest)})"
    return f"v{standing} is the approved version ({_state(latest)})"


def _approval_stands(version: int, latest: Change) -> bool:
    return latest.status not in ENDED and standing_approved(latest) == version


def window_of(change: Change) -> tuple[datetime, datetime] | None:
    """A version's window in UTC (None without a schedule)."""
    schedule = change.change_metadata.schedule
    return None if schedule is None else (schedule.start_utc, schedule.end_utc)


def _window_passed(
    event: DistributionEvent, window: tuple[datetime, datetime] | None, now: datetime
) -> str:
    """For a reminder or window-open notice: the moment of its window it missed, if any."""
    if window is None:
        return ""
    start, end = window
    if event is E.REMINDER and now >= start:
        return f"the window started at {_stamp(start)}"
    if event is E.WINDOW_OPEN and now >= end:
        return f"the window ended at {_stamp(end)}"
    return ""


def supersession(
    event: DistributionEvent,
    version: int,
    latest: Change,
    *,
    now: datetime | None = None,
    window: tuple[datetime, datetime] | None = None,
) -> Superseded | None:
    """Pure: why the trigger (``event`` of ``version``) is superseded by ``latest``, or None.

    ``now`` adds the window's own limits to a reminder (before the start) and a window-open
    notice (before the end); ``window`` is version ``version``'s (``latest``'s own when it is
    that version and none is given). Without ``now`` only the change's state decides.
    """
    if event is E.SUBMITTED:
        current = latest.version == version and latest.status is ChangeStatus.SUBMITTED
        return None if current else Superseded(by=_after_request(version, latest))
    if event is E.NUDGE:
        current = latest.status is ChangeStatus.APPROVED
        current = current and standing_approved(latest) == version
        return None if current else Superseded(by=_after_approval(version, latest))
    if event not in APPROVALS | WINDOW_NOTICES:
        return None  # the last words (and any event this rule does not know) always stand
    if not _approval_stands(version, latest):
        return Superseded(by=_after_approval(version, latest))
    if window is None and latest.version == version:
        window = window_of(latest)
    missed = "" if now is None else _window_passed(event, window, now)
    return Superseded(by=missed) if missed else None


def latest_change(store: ObjectStore, change_id: str) -> Change | None:
    """The change's current document (``archive/latest``), or None when there is none."""
    try:
        return ChangeArchive(store).get_latest(ChangeId(change_id)).change
    except NotFoundError:
        return None

"""The one currency rule: which triggers the change's current document has moved past, and why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from changecast.changes.models import Action, Change, ChangeStatus, HistoryEntry
from changecast.delivery.currency import standing_approved, supersession
from changecast.distribution.models import DistributionEvent
from tests.delivery_support import stored_change

E = DistributionEvent
S = ChangeStatus
AT = datetime(2030, 1, 1, tzinfo=UTC)
START = datetime(2030, 3, 1, 15, tzinfo=UTC)  # the builders' window: 10:00-12:00 New York
END = START + timedelta(hours=2)


def latest(status: ChangeStatus, version: int, *steps: tuple[Action, ChangeStatus, int]) -> Change:
    change = stored_change(status=status, version=version, approved_before=False)
    history = [
        HistoryEntry(action=a, status=s, version=v, at=AT + timedelta(minutes=n), by=f"u{n}@x")
        for n, (a, s, v) in enumerate(steps)
    ]
    return change.model_copy(update={"history": history})


SUBMITTED_V1 = latest(S.SUBMITTED, 1, (Action.SUBMIT, S.SUBMITTED, 1))
APPROVED_V1 = latest(
    S.APPROVED, 1, (Action.SUBMIT, S.SUBMITTED, 1), (Action.APPROVE, S.APPROVED, 1)
)
EDITED_V2 = latest(
    S.SUBMITTED,
    2,
    (Action.SUBMIT, S.SUBMITTED, 1),
    (Action.APPROVE, S.APPROVED, 1),
    (Action.EDIT, S.SUBMITTED, 2),
)
RESCHEDULED_V2 = latest(
    S.APPROVED,
    2,
    (Action.SUBMIT, S.SUBMITTED, 1),
    (Action.APPROVE, S.APPROVED, 1),
    (Action.EDIT, S.SUBMITTED, 2),
    (Action.APPROVE, S.APPROVED, 2),
)
CANCELLED_V1 = latest(
    S.CANCELLED,
    1,
    (Action.SUBMIT, S.SUBMITTED, 1),
    (Action.APPROVE, S.APPROVED, 1),
    (Action.CANCEL, S.CANCELLED, 1),
)
WITHDRAWN_V2 = latest(
    S.REJECTED,
    2,
    (Action.SUBMIT, S.SUBMITTED, 1),
    (Action.APPROVE, S.APPROVED, 1),
    (Action.EDIT, S.SUBMITTED, 2),
    (Action.REJECT, S.REJECTED, 2),
)


def by(event: DistributionEvent, version: int, change: Change, **kw: object) -> str | None:
    found = supersession(event, version, change, **kw)  # type: ignore[arg-type]
    return None if found is None else found.by


def test_an_approval_request_stands_only_while_its_version_awaits_approval() -> None:
    assert by(E.SUBMITTED, 1, SUBMITTED_V1) is None
    assert by(E.SUBMITTED, 1, APPROVED_V1) == "approve of v1 by u1@x at 2030-01-01T00:01:00Z"
    assert by(E.SUBMITTED, 1, EDITED_V2) == "approve of v1 by u1@x at 2030-01-01T00:01:00Z"
    assert by(E.SUBMITTED, 2, EDITED_V2) is None
    assert by(E.SUBMITTED, 2, RESCHEDULED_V2) == "approve of v2 by u3@x at 2030-01-01T00:03:00Z"
    assert by(E.SUBMITTED, 2, WITHDRAWN_V2) == "reject of v2 by u3@x at 2030-01-01T00:03:00Z"


def test_an_approval_stands_until_a_later_approval_or_the_end_of_the_change() -> None:
    assert by(E.APPROVED, 1, APPROVED_V1) is None
    assert by(E.APPROVED, 1, EDITED_V2) is None  # the edit awaits approval: v1 still stands
    assert by(E.APPROVED, 1, RESCHEDULED_V2) == "approve of v2 by u3@x at 2030-01-01T00:03:00Z"
    assert by(E.UPDATED, 2, RESCHEDULED_V2) is None
    assert by(E.APPROVED, 1, CANCELLED_V1) == "cancel of v1 by u2@x at 2030-01-01T00:02:00Z"
    assert by(E.APPROVED, 1, WITHDRAWN_V2) == "reject of v2 by u3@x at 2030-01-01T00:03:00Z"
    assert by(E.APPROVED, 1, SUBMITTED_V1) is not None  # never approved: nothing to announce


@pytest.mark.parametrize("event", [E.REMINDER, E.WINDOW_OPEN, E.WINDOW_CLOSED])
def test_window_notices_only_for_the_standing_approved_version(event: DistributionEvent) -> None:
    assert by(event, 1, APPROVED_V1) is None
    assert by(event, 1, EDITED_V2) is None
    assert by(event, 1, RESCHEDULED_V2) == "approve of v2 by u3@x at 2030-01-01T00:03:00Z"
    assert by(event, 2, RESCHEDULED_V2) is None
    assert by(event, 1, CANCELLED_V1) == "cancel of v1 by u2@x at 2030-01-01T00:02:00Z"


def test_a_reminder_goes_stale_at_the_start_and_a_window_open_notice_at_the_end() -> None:
    early, during, after = START - timedelta(hours=1), START + timedelta(hours=1), END
    assert by(E.REMINDER, 1, APPROVED_V1, now=early) is None
    assert by(E.REMINDER, 1, APPROVED_V1, now=during) == (
        "the window started at 2030-03-01T15:00:00Z"
    )
    assert by(E.WINDOW_OPEN, 1, APPROVED_V1, now=during) is None
    assert (
        by(E.WINDOW_OPEN, 1, APPROVED_V1, now=after) == "the window ended at 2030-03-01T17:00:00Z"
    )
    assert by(E.WINDOW_CLOSED, 1, APPROVED_V1, now=after + timedelta(days=1)) is None
    other = (START + timedelta(days=7), END + timedelta(days=7))  # the version's own window
    assert by(E.REMINDER, 1, EDITED_V2, now=during, window=other) is None


def test_a_nudge_stands_only_while_its_version_is_approved_and_open() -> None:
    assert by(E.NUDGE, 1, APPROVED_V1) is None
    assert by(E.NUDGE, 1, RESCHEDULED_V2) is not None
    assert by(E.NUDGE, 1, EDITED_V2) == "v1 is the approved version (v2 is submitted)"
    assert by(E.NUDGE, 1, CANCELLED_V1) is not None


@pytest.mark.parametrize("event", [E.WITHDRAWN, E.COMPLETED, E.CANCELLED, E.SURVEY])
def test_the_last_word_always_stands(event: DistributionEvent) -> None:
    for change in (APPROVED_V1, CANCELLED_V1, WITHDRAWN_V2, RESCHEDULED_V2):
        assert by(event, 1, change) is None


def test_the_standing_approved_version_counts_the_documents_own_status() -> None:
    assert standing_approved(SUBMITTED_V1) is None
    assert standing_approved(EDITED_V2) == 1
    assert standing_approved(RESCHEDULED_V2) == 2
    bare = stored_change(status=S.APPROVED, version=3, approved_before=False)
    assert standing_approved(bare) == 3

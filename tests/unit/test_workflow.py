"""The change state machine, exhaustively and by property."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from changecast.changes.models import Action, ChangeStatus, NoticeKind
from changecast.changes.workflow import TERMINAL, TRANSITIONS, allowed_actions, next_status
from changecast.errors import ConflictError

S, A = ChangeStatus, Action


@pytest.mark.parametrize(
    ("path", "final"),
    [
        ([A.SUBMIT, A.APPROVE, A.COMPLETE], S.COMPLETED),
        ([A.SUBMIT, A.REJECT], S.REJECTED),
        ([A.SUBMIT, A.CANCEL], S.CANCELLED),
        ([A.SUBMIT, A.APPROVE, A.CANCEL], S.CANCELLED),
        ([A.SUBMIT, A.APPROVE, A.EDIT, A.APPROVE], S.APPROVED),
        ([A.SUBMIT, A.EDIT, A.EDIT], S.SUBMITTED),
    ],
)
def test_documented_paths_reach_their_status(path: list[Action], final: ChangeStatus) -> None:
    status = S.DRAFT
    for action in path:
        status = next_status(status, action)
    assert status is final


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (S.DRAFT, A.APPROVE),
        (S.DRAFT, A.EDIT),
        (S.SUBMITTED, A.COMPLETE),
        (S.APPROVED, A.REJECT),
        (S.APPROVED, A.SUBMIT),
        (S.COMPLETED, A.CANCEL),
        (S.REJECTED, A.EDIT),
    ],
)
def test_forbidden_transition_is_a_conflict_naming_allowed_actions(
    status: ChangeStatus, action: Action
) -> None:
    with pytest.raises(ConflictError) as caught:
        next_status(status, action)
    assert f"cannot {action.value}" in caught.value.message
    assert "allowed now" in caught.value.message


@given(st.lists(st.sampled_from(list(Action)), max_size=12))
def test_any_action_sequence_stays_inside_the_machine(actions: list[Action]) -> None:
    status = S.DRAFT
    for action in actions:
        if action in allowed_actions(status):
            status = next_status(status, action)
        else:
            with pytest.raises(ConflictError):
                next_status(status, action)
    assert status in set(ChangeStatus)


@given(st.sampled_from(sorted(TERMINAL)), st.sampled_from(list(Action)))
def test_terminal_states_allow_nothing(status: ChangeStatus, action: Action) -> None:
    assert allowed_actions(status) == frozenset()
    with pytest.raises(ConflictError):
        next_status(status, action)


def test_edit_always_returns_to_submitted() -> None:
    edits = {src: dst for (src, action), dst in TRANSITIONS.items() if action is A.EDIT}
    assert edits == {S.SUBMITTED: S.SUBMITTED, S.APPROVED: S.SUBMITTED}


def test_an_announcement_is_withdrawn_never_completed() -> None:
    kind = NoticeKind.ANNOUNCEMENT
    status = next_status(next_status(S.DRAFT, A.SUBMIT, kind), A.APPROVE, kind)
    assert A.COMPLETE not in allowed_actions(status, kind)
    assert A.CANCEL in allowed_actions(status, kind)
    with pytest.raises(ConflictError, match="cannot complete an announcement that is approved"):
        next_status(status, A.COMPLETE, kind)
    assert next_status(status, A.CANCEL, kind) is S.CANCELLED
    assert next_status(status, A.COMPLETE) is S.COMPLETED  # a change still completes

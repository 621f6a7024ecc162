"""Per-customer delivery status: pending until reported, the worst event state wins, no S3."""

from __future__ import annotations

from datetime import UTC, datetime

from changecast.changes.models import Action, Change, ChangeStatus, HistoryEntry
from changecast.delivery.models import (
    DeliveryFailure,
    DeliveryRecord,
    ExecutionRecord,
    ExecutionStatus,
    delivery_record,
)
from changecast.delivery.status import (
    DeliveryState,
    change_deliveries,
    customer_delivery,
    expected_events,
)
from changecast.distribution.models import DistributionEvent
from tests.delivery_support import stored_change
from tests.fakes.deliveries import MemoryDeliveryReadModel

AT = datetime(2030, 1, 1, tzinfo=UTC)
E = DistributionEvent


def record(
    change_id: str, code: str, event: DistributionEvent, status: ExecutionStatus, version: int = 1
) -> ExecutionRecord:
    failures = [] if status is ExecutionStatus.DELIVERED else [DeliveryFailure(reason="boom")]
    return ExecutionRecord(
        change_id=change_id,
        version=version,
        customer_code=code,
        event=event,
        status=status,
        failures=failures,
        started_at=AT,
        finished_at=AT,
    )


def row(
    change_id: str, code: str, event: DistributionEvent, status: ExecutionStatus, version: int = 1
) -> DeliveryRecord:
    return delivery_record(record(change_id, code, event, status, version))


def with_history(change: Change, *steps: tuple[Action, ChangeStatus, int]) -> Change:
    history = [
        HistoryEntry(action=action, status=status, version=version, at=AT, by="a@example.com")
        for action, status, version in steps
    ]
    return change.model_copy(update={"history": history})


def test_a_triggered_event_without_a_result_is_pending() -> None:
    change = stored_change()
    submitted = row(change.change_id, "acme", E.SUBMITTED, ExecutionStatus.DELIVERED)
    found = customer_delivery(change, "acme", [submitted], {E.SUBMITTED, E.APPROVED})
    assert found.state is DeliveryState.PENDING
    assert [(e.event, e.state) for e in found.current] == [
        (E.SUBMITTED, DeliveryState.DELIVERED),
        (E.APPROVED, DeliveryState.PENDING),
    ]


def test_the_worst_state_of_the_current_events_wins_and_superseded_ones_do_not_count() -> None:
    change = stored_change(version=2)  # v2 approved: it superseded v1's approval
    old = row(change.change_id, "acme", E.APPROVED, ExecutionStatus.FAILED, 1)
    now = [
        row(change.change_id, "acme", E.SUBMITTED, ExecutionStatus.DELIVERED, 2),
        row(change.change_id, "acme", E.UPDATED, ExecutionStatus.PARTIAL, 2),
    ]
    found = customer_delivery(change, "acme", [old, *now], set())
    assert found.state is DeliveryState.PARTIAL
    assert [r.version for r in found.history] == [2, 2, 1]
    assert [(e.version, e.event, e.state) for e in found.current] == [
        (1, E.APPROVED, DeliveryState.SUPERSEDED),
        (2, E.SUBMITTED, DeliveryState.DELIVERED),  # delivered, then its version was approved
        (2, E.UPDATED, DeliveryState.PARTIAL),
    ]
    assert found.current[0].superseded_by == "v2 is the approved version (v2 is approved)"
    assert found.current[1].superseded_by == "v2 is approved"
    assert (found.current[2].reason, found.current[2].superseded_by) == ("boom", None)
    other = customer_delivery(change, "globex", [old, *now], set())
    assert (other.state, other.current, other.history) == (DeliveryState.PENDING, [], [])


def test_outcomes_counted_before_the_workers_record_leave_the_event_pending() -> None:
    change = stored_change()
    early = DeliveryRecord(
        change_id=change.change_id,
        version=1,
        customer_code="acme",
        event=E.APPROVED,
        delivered=2,
        updated_at=AT,
    )
    found = customer_delivery(change, "acme", [early], {E.APPROVED})
    assert [(e.state, e.record) for e in found.current] == [(DeliveryState.PENDING, early)]
    assert found.history == []


def test_the_expected_events_are_those_the_current_versions_actions_fanned_out() -> None:
    s = ChangeStatus
    approved = with_history(
        stored_change(), (Action.SUBMIT, s.SUBMITTED, 1), (Action.APPROVE, s.APPROVED, 1)
    )
    assert expected_events(approved) == {E.SUBMITTED, E.APPROVED}
    edited = with_history(
        stored_change(version=2, status=s.APPROVED),
        (Action.SUBMIT, s.SUBMITTED, 1),
        (Action.APPROVE, s.APPROVED, 1),
        (Action.EDIT, s.SUBMITTED, 2),
        (Action.APPROVE, s.APPROVED, 2),
        (Action.COMPLETE, s.COMPLETED, 2),
    )
    assert expected_events(edited) == {E.SUBMITTED, E.UPDATED, E.COMPLETED, E.SURVEY}  # H-17
    rejected = with_history(
        stored_change(status=s.REJECTED, approved_before=False),
        (Action.SUBMIT, s.SUBMITTED, 1),
        (Action.REJECT, s.REJECTED, 1),
    )
    assert expected_events(rejected) == {E.SUBMITTED}


def test_every_customer_of_the_change_is_listed_from_the_read_model() -> None:
    change = with_history(
        stored_change(),
        (Action.SUBMIT, ChangeStatus.SUBMITTED, 1),
        (Action.APPROVE, ChangeStatus.APPROVED, 1),
    )
    model = MemoryDeliveryReadModel()
    for event in (E.SUBMITTED, E.APPROVED):
        model.record_execution(record(change.change_id, "acme", event, ExecutionStatus.DELIVERED))
    model.record_execution(record(change.change_id, "globex", E.APPROVED, ExecutionStatus.FAILED))
    found = change_deliveries(change, read_model=model)
    assert [(c.customer_code, c.state) for c in found.customers] == [
        ("acme", DeliveryState.DELIVERED),
        ("globex", DeliveryState.FAILED),
        ("initech", DeliveryState.PENDING),
    ]
    assert [(e.event, e.state) for e in found.customers[1].current] == [
        (E.SUBMITTED, DeliveryState.SUPERSEDED),  # the approval moved past it: never sent now
        (E.APPROVED, DeliveryState.FAILED),
    ]


def test_a_failed_approval_request_the_approval_superseded_no_longer_decides_the_state() -> None:
    change = with_history(
        stored_change(),
        (Action.SUBMIT, ChangeStatus.SUBMITTED, 1),
        (Action.APPROVE, ChangeStatus.APPROVED, 1),
    )
    model = MemoryDeliveryReadModel()
    model.record_execution(record(change.change_id, "acme", E.SUBMITTED, ExecutionStatus.FAILED))
    waiting = change_deliveries(change, read_model=model).customers[0]
    assert waiting.state is DeliveryState.PENDING  # the approval is still to be delivered
    model.record_execution(record(change.change_id, "acme", E.APPROVED, ExecutionStatus.DELIVERED))
    settled = change_deliveries(change, read_model=model).customers[0]
    assert settled.state is DeliveryState.DELIVERED
    request = settled.current[0]
    assert (request.event, request.state) == (E.SUBMITTED, DeliveryState.SUPERSEDED)
    assert request.superseded_by == "approve of v1 by a@example.com at 2030-01-01T00:00:00Z"
    assert request.record is not None and request.record.status is ExecutionStatus.FAILED


def test_an_older_versions_approval_stands_while_an_edit_awaits_approval() -> None:
    s = ChangeStatus
    change = with_history(
        stored_change(status=s.SUBMITTED, version=2, approved_before=True),
        (Action.SUBMIT, s.SUBMITTED, 1),
        (Action.APPROVE, s.APPROVED, 1),
        (Action.EDIT, s.SUBMITTED, 2),
    )
    rows = [
        row(change.change_id, "acme", E.SUBMITTED, ExecutionStatus.FAILED, 1),
        row(change.change_id, "acme", E.APPROVED, ExecutionStatus.FAILED, 1),
        row(change.change_id, "acme", E.SUBMITTED, ExecutionStatus.DELIVERED, 2),
    ]
    found = customer_delivery(change, "acme", rows, {E.SUBMITTED})
    assert found.state is DeliveryState.FAILED  # v1's approval still stands, and failed
    assert [(e.version, e.event, e.state) for e in found.current] == [
        (1, E.SUBMITTED, DeliveryState.SUPERSEDED),
        (1, E.APPROVED, DeliveryState.FAILED),
        (2, E.SUBMITTED, DeliveryState.DELIVERED),
    ]
    assert (
        found.current[0].superseded_by == "approve of v1 by a@example.com at 2030-01-01T00:00:00Z"
    )


def test_a_reminder_whose_window_started_is_superseded_when_the_time_is_known() -> None:
    change = with_history(
        stored_change(),
        (Action.SUBMIT, ChangeStatus.SUBMITTED, 1),
        (Action.APPROVE, ChangeStatus.APPROVED, 1),
    )
    rows = [
        row(change.change_id, "acme", E.SUBMITTED, ExecutionStatus.DELIVERED),
        row(change.change_id, "acme", E.APPROVED, ExecutionStatus.DELIVERED),
        row(change.change_id, "acme", E.REMINDER, ExecutionStatus.FAILED),
    ]
    expected = {E.SUBMITTED, E.APPROVED}
    before = customer_delivery(change, "acme", rows, expected, now=AT)
    assert before.state is DeliveryState.FAILED
    after = customer_delivery(change, "acme", rows, expected, now=datetime(2030, 3, 2, tzinfo=UTC))
    assert after.state is DeliveryState.DELIVERED
    assert (
        after.current[-1].superseded_by == "the window started at 2030-03-01T15:00:00Z"
    )  # 10:00 New York

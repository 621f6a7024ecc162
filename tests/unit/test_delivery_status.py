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


def test_the_worst_state_of_the_current_version_wins_and_older_versions_are_history() -> None:
    change = stored_change(version=2)
    old = row(change.change_id, "acme", E.APPROVED, ExecutionStatus.FAILED, 1)
    now = [
        row(change.change_id, "acme", E.SUBMITTED, ExecutionStatus.DELIVERED, 2),
        row(change.change_id, "acme", E.UPDATED, ExecutionStatus.PARTIAL, 2),
    ]
    found = customer_delivery(change, "acme", [old, *now], set())
    assert found.state is DeliveryState.PARTIAL
    assert [r.version for r in found.history] == [2, 2, 1]
    assert found.current[1].reason == "boom"
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
    model.record_execution(record(change.change_id, "globex", E.SUBMITTED, ExecutionStatus.FAILED))
    found = change_deliveries(change, read_model=model)
    assert [(c.customer_code, c.state) for c in found.customers] == [
        ("acme", DeliveryState.DELIVERED),
        ("globex", DeliveryState.FAILED),
        ("initech", DeliveryState.PENDING),
    ]
    assert [(e.event, e.state) for e in found.customers[1].current] == [
        (E.SUBMITTED, DeliveryState.FAILED),
        (E.APPROVED, DeliveryState.PENDING),
    ]

"""Per-customer delivery status: pending until reported, the worst event state wins."""

from __future__ import annotations

from datetime import UTC, datetime

from changecast.delivery.models import (
    DeliveryFailure,
    DistributionEvent,
    ExecutionDocument,
    ExecutionRecord,
    ExecutionStatus,
)
from changecast.delivery.status import DeliveryState, change_deliveries, customer_delivery
from tests.delivery_support import publish, stored_change
from tests.fakes.store import MemoryObjectStore

AT = datetime(2030, 1, 1, tzinfo=UTC)


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


def document(*records: ExecutionRecord) -> ExecutionDocument:
    first = records[0]
    return ExecutionDocument(
        change_id=first.change_id,
        version=first.version,
        customer_code=first.customer_code,
        events={r.event: r for r in records},
    )


def test_a_triggered_event_without_a_result_is_pending() -> None:
    change = stored_change()
    submitted = record(
        change.change_id, "acme", DistributionEvent.SUBMITTED, ExecutionStatus.DELIVERED
    )
    found = customer_delivery(
        change,
        "acme",
        [document(submitted)],
        {DistributionEvent.SUBMITTED, DistributionEvent.APPROVED},
    )
    assert found.state is DeliveryState.PENDING
    assert [(e.event, e.state) for e in found.current] == [
        (DistributionEvent.SUBMITTED, DeliveryState.DELIVERED),
        (DistributionEvent.APPROVED, DeliveryState.PENDING),
    ]


def test_the_worst_state_of_the_current_version_wins_and_older_versions_are_history() -> None:
    change = stored_change(version=2)
    old = record(change.change_id, "acme", DistributionEvent.APPROVED, ExecutionStatus.FAILED, 1)
    now = [
        record(change.change_id, "acme", DistributionEvent.SUBMITTED, ExecutionStatus.DELIVERED, 2),
        record(change.change_id, "acme", DistributionEvent.UPDATED, ExecutionStatus.PARTIAL, 2),
    ]
    found = customer_delivery(change, "acme", [document(old), document(*now)], set())
    assert found.state is DeliveryState.PARTIAL
    assert [r.version for r in found.history] == [2, 2, 1]
    other = customer_delivery(change, "globex", [document(old), document(*now)], set())
    assert (other.state, other.current, other.history) == (DeliveryState.PENDING, [], [])


def test_every_customer_of_the_change_is_listed_from_the_store() -> None:
    store = MemoryObjectStore()
    change = stored_change()
    publish(store, change, DistributionEvent.APPROVED, "acme")
    publish(store, change, DistributionEvent.APPROVED, "globex")
    done = record(change.change_id, "acme", DistributionEvent.APPROVED, ExecutionStatus.DELIVERED)
    store.put(
        f"executions/{change.change_id}/v1/acme.json", document(done).model_dump_json().encode()
    )
    found = change_deliveries(change, store=store)
    assert [(c.customer_code, c.state) for c in found.customers] == [
        ("acme", DeliveryState.DELIVERED),
        ("globex", DeliveryState.PENDING),
        ("initech", DeliveryState.PENDING),
    ]

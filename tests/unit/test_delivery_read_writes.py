"""The worker writes the delivery read model: every saved result, and the dead-letter path."""

from __future__ import annotations

import dataclasses
import threading

from changecast.changes.models import ChangeStatus
from changecast.delivery.models import ExecutionStatus
from changecast.delivery.redelivery import s3_event_body
from changecast.delivery.service import DeliveryRequest, deliver
from changecast.distribution.models import DistributionEvent
from changecast.workers.processing import CustomerProcessor, Outcome
from tests.delivery_support import publish, stored_change
from tests.fakes.deliveries import MemoryDeliveryReadModel
from tests.unit.test_delivery_service import World

E = DistributionEvent
BUCKET = "changecast-local"
NEVER = threading.Event()


def test_a_delivered_run_becomes_its_read_model_row() -> None:
    world, model = World(), MemoryDeliveryReadModel()
    deps = dataclasses.replace(world.deps(), read_model=model)
    change = stored_change(status=ChangeStatus.SUBMITTED)
    record = deliver(DeliveryRequest.for_change(change, E.SUBMITTED), deps=deps, stop=NEVER)
    [row] = model.for_change(change.change_id)
    assert (row.status, row.sent, row.recipients, row.customer_code, row.event) == (
        ExecutionStatus.DELIVERED,
        record.sent,
        record.recipients,
        "acme",
        E.SUBMITTED,
    )
    assert row.sent > 0


def test_a_dead_lettered_trigger_is_a_failed_dead_lettered_row_with_its_reason() -> None:
    world, model = World(), MemoryDeliveryReadModel()
    deps = dataclasses.replace(world.deps(), read_model=model)
    change = stored_change(status=ChangeStatus.APPROVED)
    trigger = publish(world.store, change, E.APPROVED, "acme", write_version=False)
    verdict = CustomerProcessor(deps=deps, bucket=BUCKET).handle(
        s3_event_body(BUCKET, trigger.key), stop=NEVER
    )
    assert verdict.outcome is Outcome.DEAD
    [row] = model.for_change(change.change_id)
    assert (row.status, row.dead_lettered, row.event) == (ExecutionStatus.FAILED, True, E.APPROVED)
    assert row.reason is not None and row.reason.startswith("no object at archive/")

"""The worker's currency check: a superseded trigger sends nothing, is done, and says why."""

from __future__ import annotations

import dataclasses
import json
import threading

from changecast.changes.archive import ChangeArchive
from changecast.changes.models import Action, Change, ChangeStatus
from changecast.delivery.models import ExecutionDocument, ExecutionStatus
from changecast.delivery.redelivery import s3_event_body
from changecast.distribution.models import DistributionEvent
from changecast.layout import execution_key
from changecast.metrics import names
from changecast.workers.processing import CustomerProcessor, Outcome
from tests.delivery_support import publish, stored_change
from tests.fakes.deliveries import MemoryDeliveryReadModel
from tests.fakes.metrics import MemoryMetrics
from tests.unit.test_delivery_service import World

E = DistributionEvent
BUCKET = "changecast-test"
NEVER = threading.Event()


def cancelled_of(change: Change) -> Change:
    history = [
        *change.history,
        change.history[-1].model_copy(
            update={"action": Action.CANCEL, "status": ChangeStatus.CANCELLED, "by": "c@x.com"}
        ),
    ]
    return change.model_copy(update={"status": ChangeStatus.CANCELLED, "history": history})


def test_a_reminder_of_a_cancelled_change_sends_nothing_and_is_recorded_superseded() -> None:
    world, model, metrics = World(), MemoryDeliveryReadModel(), MemoryMetrics()
    deps = dataclasses.replace(world.deps(), read_model=model, metrics=metrics)
    change = stored_change(status=ChangeStatus.APPROVED)
    ChangeArchive(world.store).put_latest(cancelled_of(change), etag=None)
    trigger = publish(world.store, change, E.REMINDER, "acme")
    worker = CustomerProcessor(deps=deps, bucket=BUCKET)

    verdict = worker.handle(s3_event_body(BUCKET, trigger.key), stop=NEVER)

    assert verdict.outcome is Outcome.DONE  # not a failure, not dead-lettered
    assert world.mail.sent == []
    [row] = model.for_change(change.change_id)
    assert (row.status, row.dead_lettered, row.sent) == (ExecutionStatus.SUPERSEDED, False, 0)
    assert row.reason == "superseded by cancel of v1 by c@x.com at 2030-01-02T08:00:00Z"
    body = world.store.get(execution_key(change.change_id, 1, "acme")).body
    record = ExecutionDocument.model_validate_json(body).events[E.REMINDER]
    assert record.superseded_by == "cancel of v1 by c@x.com at 2030-01-02T08:00:00Z"
    metrics.flush()
    assert metrics.total(names.TRIGGERS_SUPERSEDED, customer="acme", event="reminder") == 1
    assert metrics.total(names.TRIGGERS_DEAD_LETTERED) == 0


def test_a_superseded_duplicate_never_hides_a_delivered_record() -> None:
    world = World()
    deps = world.deps()
    change = stored_change(status=ChangeStatus.SUBMITTED, approved_before=False)
    archive = ChangeArchive(world.store)
    etag = archive.put_latest(change, etag=None)
    trigger = publish(world.store, change, E.SUBMITTED, "acme")
    worker = CustomerProcessor(deps=deps, bucket=BUCKET)
    assert worker.handle(s3_event_body(BUCKET, trigger.key), stop=NEVER).outcome is Outcome.DONE
    sent = len(world.mail.sent)
    assert sent > 0
    approved = stored_change(status=ChangeStatus.APPROVED, change_id=change.change_id)
    archive.put_latest(approved, etag=etag)

    again = worker.handle(s3_event_body(BUCKET, trigger.key), stop=NEVER)  # a late duplicate

    assert again.outcome is Outcome.DONE and len(world.mail.sent) == sent
    body = world.store.get(execution_key(change.change_id, 1, "acme")).body
    kept = ExecutionDocument.model_validate_json(body).events[E.SUBMITTED]
    assert (kept.status, kept.sent) == (ExecutionStatus.DELIVERED, sent)


def test_an_embedded_message_is_judged_by_the_changes_latest_document() -> None:
    world = World()
    change = stored_change(status=ChangeStatus.APPROVED)
    message = json.dumps(
        {
            "action_type": "reminder",
            "customer_code": "acme",
            "execution_id": "exec-1",
            "timestamp": "2030-01-02T08:00:00Z",
            "metadata": change.to_json_dict(),
        }
    )
    worker = CustomerProcessor(deps=world.deps(), bucket=BUCKET)
    ChangeArchive(world.store).put_latest(cancelled_of(change), etag=None)

    verdict = worker.handle(message, stop=NEVER)

    assert verdict.outcome is Outcome.DONE and world.mail.sent == []
    body = world.store.get(execution_key(change.change_id, 1, "acme")).body
    record = ExecutionDocument.model_validate_json(body).events[E.REMINDER]
    assert record.status is ExecutionStatus.SUPERSEDED

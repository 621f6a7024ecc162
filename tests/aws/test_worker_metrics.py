"""Worker metrics on in-process moto: EMF lines per Lambda invocation and per queue message."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

from structlog.testing import capture_logs

from changecast.bootstrap import Runtime
from changecast.changes.models import ChangeStatus
from changecast.delivery.pacing import Backoff, TokenBucket
from changecast.delivery.redelivery import s3_event_body
from changecast.distribution.models import DistributionEvent
from changecast.metrics import names
from changecast.metrics.buffer import MetricSet
from changecast.metrics.emf import emf_metrics
from changecast.workers.lambda_handler import LambdaWorker, build_lambda_worker, handle_batch
from changecast.workers.processing import CustomerProcessor
from changecast.workers.runner import QueueWorker
from changecast.workers.wiring import build_worker
from tests.aws.test_worker_lambda import sqs_event
from tests.delivery_support import many_contacts, publish, stored_change
from tests.fakes.mail import FakeMail, FakeSesAccount
from tests.metrics_support import emf_documents, emf_sets

BUCKET = "changecast-local"
COMPLETED = {"customer": "acme", "event": "completed"}


def lambda_worker(
    runtime: Runtime, mail: FakeMail, contacts: int = 3
) -> tuple[LambdaWorker, io.StringIO]:
    """The Lambda worker of acme, with its metrics written as EMF to the returned stream."""
    mapping = runtime.directory.get("acme")
    worker = build_lambda_worker(
        runtime, "acme", ses=FakeSesAccount(mail, many_contacts(mapping, contacts))
    )
    deps = worker.processor.deps
    deps.bucket = TokenBucket(10_000)
    deps.backoff = Backoff(base=0.0001, cap=0.0005)
    stream = io.StringIO()
    deps.metrics = emf_metrics(stream=stream)
    return worker, stream


def invoke(worker: LambdaWorker, stream: io.StringIO, *bodies: str) -> list[MetricSet]:
    """One invocation; the metric sets of the EMF lines it wrote."""
    stream.seek(0)
    stream.truncate()
    handle_batch(sqs_event(*bodies), None, worker)
    return emf_sets(stream.getvalue())


def counts(metric_set: MetricSet) -> dict[str, float]:
    return {
        name: sum(metric_set.metrics[name].values)
        for name in (
            names.EMAILS_SENT,
            names.EMAILS_FAILED,
            names.EMAILS_THROTTLED,
            names.EMAILS_ALREADY_SENT,
        )
    }


def completed_trigger(runtime: Runtime, title: str = "Patch night") -> str:
    change = stored_change(status=ChangeStatus.COMPLETED, title=title)
    trigger = publish(runtime.store, change, DistributionEvent.COMPLETED, "acme")
    return s3_event_body(BUCKET, trigger.key)


def test_an_invocation_writes_one_emf_line_with_the_counts_and_a_redelivery_counts_already_sent(
    moto_runtime: Runtime,
) -> None:
    worker, stream = lambda_worker(moto_runtime, FakeMail())
    body = completed_trigger(moto_runtime)
    first = invoke(worker, stream, body)
    documents = emf_documents(stream.getvalue())
    assert len(documents) == 1
    directive = documents[0]["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "changecast"
    assert directive["Dimensions"] == [["customer", "event"]]
    (delivered,) = first
    assert delivered.dimensions == COMPLETED
    assert counts(delivered) == {
        names.EMAILS_SENT: 3,
        names.EMAILS_FAILED: 0,
        names.EMAILS_THROTTLED: 0,
        names.EMAILS_ALREADY_SENT: 0,
    }
    (duration,) = delivered.metrics[names.DELIVERY_DURATION].values
    assert duration >= 0
    assert delivered.metrics[names.DELIVERY_DURATION].unit.value == "Seconds"

    (again,) = invoke(worker, stream, body)
    assert counts(again) == {
        names.EMAILS_SENT: 0,
        names.EMAILS_FAILED: 0,
        names.EMAILS_THROTTLED: 0,
        names.EMAILS_ALREADY_SENT: 3,
    }


def test_rejected_and_throttled_sends_are_counted(moto_runtime: Runtime) -> None:
    mail = FakeMail(reject={"person-0004@acme.example.com"}, throttle_ratio=0.3, seed=3)
    worker, stream = lambda_worker(moto_runtime, mail, contacts=20)
    (delivered,) = invoke(worker, stream, completed_trigger(moto_runtime))
    assert mail.throttled > 0
    assert counts(delivered) == {
        names.EMAILS_SENT: 19,
        names.EMAILS_FAILED: 1,
        names.EMAILS_THROTTLED: mail.throttled,
        names.EMAILS_ALREADY_SENT: 0,
    }


def test_a_poison_message_is_counted_dead_lettered_beside_its_neighbours_counts(
    moto_runtime: Runtime,
) -> None:
    worker, stream = lambda_worker(moto_runtime, FakeMail())
    sets = invoke(worker, stream, "garbage", completed_trigger(moto_runtime))
    assert [dict(s.dimensions) for s in sets] == [{"customer": "acme"}, COMPLETED]
    assert sets[0].metrics[names.TRIGGERS_DEAD_LETTERED].values == (1.0,)
    assert counts(sets[1])[names.EMAILS_SENT] == 3


def queue_worker(runtime: Runtime, mail: FakeMail) -> QueueWorker:
    mapping = runtime.directory.get("acme")
    worker = build_worker(
        runtime, "acme", ses=FakeSesAccount(mail, many_contacts(mapping, 2)), wait_seconds=0
    )
    processor = worker.processor
    assert isinstance(processor, CustomerProcessor)
    processor.deps.bucket = TokenBucket(10_000)
    worker.retry_base = 0
    return worker


def drain(worker: QueueWorker) -> None:
    for _ in range(20):
        if worker.poll_once() == 0:
            return
    raise AssertionError("the queue did not drain")


def test_the_queue_loop_flushes_after_each_message(moto_runtime: Runtime) -> None:
    worker = queue_worker(moto_runtime, FakeMail())
    stream = io.StringIO()
    processor = worker.processor
    assert isinstance(processor, CustomerProcessor)
    processor.deps.metrics = worker.metrics = emf_metrics(stream=stream)
    completed_trigger(moto_runtime, "First")
    completed_trigger(moto_runtime, "Second")
    drain(worker)
    sets = [s for s in emf_sets(stream.getvalue()) if dict(s.dimensions) == COMPLETED]
    assert [counts(s)[names.EMAILS_SENT] for s in sets] == [2, 2]  # two flushes, not one


def metric_events(logs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    keep = ("name", "value", "unit", "customer", "delivery_event")
    return [{k: e.get(k) for k in keep} for e in logs if e["event"] == "metric"]


def test_local_mode_writes_the_metrics_to_the_log(moto_runtime: Runtime) -> None:
    worker = queue_worker(moto_runtime, FakeMail())
    assert worker.metrics is moto_runtime.metrics  # local mode: the log adapter
    completed_trigger(moto_runtime)
    with capture_logs() as logs:
        drain(worker)
    lines = metric_events(logs)
    where = {"customer": "acme", "delivery_event": "completed"}
    assert [line for line in lines if line["name"] != names.DELIVERY_DURATION] == [
        {"name": names.EMAILS_SENT, "value": 2.0, "unit": "Count"} | where,
        {"name": names.EMAILS_FAILED, "value": 0.0, "unit": "Count"} | where,
        {"name": names.EMAILS_THROTTLED, "value": 0.0, "unit": "Count"} | where,
        {"name": names.EMAILS_ALREADY_SENT, "value": 0.0, "unit": "Count"} | where,
    ]
    assert [line["unit"] for line in lines if line["name"] == names.DELIVERY_DURATION] == [
        "Seconds"
    ]

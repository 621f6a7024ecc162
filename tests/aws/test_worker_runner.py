"""The worker on in-process moto: S3 events through SQS to each customer's SES, exactly once."""

from __future__ import annotations

import json
import threading
from typing import Any

from changecast.bootstrap import Runtime
from changecast.changes.models import ChangeStatus
from changecast.delivery.models import ExecutionDocument, ExecutionStatus
from changecast.delivery.pacing import Backoff, TokenBucket
from changecast.delivery.redelivery import s3_event_body
from changecast.distribution.models import DistributionEvent
from changecast.errors import UpstreamError
from changecast.layout import execution_key
from changecast.local.moto_store import MotoMail, sent_mail
from changecast.workers.processing import CustomerProcessor
from changecast.workers.runner import Heartbeat, QueueWorker
from changecast.workers.wiring import build_worker
from tests.delivery_support import many_contacts, publish, stored_change
from tests.fakes.mail import FakeMail, FakeSesAccount

BUCKET = "changecast-local"


def worker_for(runtime: Runtime, code: str = "acme", ses: Any = None) -> QueueWorker:
    worker = build_worker(runtime, code, ses=ses, wait_seconds=0)
    processor = worker.processor
    assert isinstance(processor, CustomerProcessor)
    processor.deps.bucket = TokenBucket(10_000)
    processor.deps.backoff = Backoff(base=0.001, cap=0.005)
    worker.retry_base = 0
    return worker


def drain(worker: QueueWorker, rounds: int = 50) -> None:
    for _ in range(rounds):
        if worker.poll_once() == 0:
            return
    raise AssertionError("the queue did not drain")


def mail_of(runtime: Runtime, code: str) -> list[MotoMail]:
    return sent_mail(runtime.directory.get(code).account_id, "us-east-1")


def recipients(runtime: Runtime, code: str, raw: bool = False) -> list[str]:
    return sorted(
        address
        for m in mail_of(runtime, code)
        if (m.raw is not None) is raw
        for address in m.destinations
    )


def dead_letters(runtime: Runtime, code: str) -> list[dict[str, Any]]:
    assert runtime.local is not None
    sqs = runtime.aws.client("sqs")
    found: list[dict[str, Any]] = []
    while True:
        answer = sqs.receive_message(
            QueueUrl=runtime.local.customers[code].dlq_url,
            MaxNumberOfMessages=10,
            MessageAttributeNames=["All"],
        )
        if not answer.get("Messages"):
            return found
        for message in answer["Messages"]:
            attributes = message.get("MessageAttributes", {})
            reason = attributes.get("changecast-reason", {}).get("StringValue", "")
            found.append({"body": message["Body"], "reason": reason})
            sqs.delete_message(
                QueueUrl=runtime.local.customers[code].dlq_url,
                ReceiptHandle=message["ReceiptHandle"],
            )


def queue_send(runtime: Runtime, code: str, body: str) -> None:
    assert runtime.local is not None
    runtime.aws.client("sqs").send_message(
        QueueUrl=runtime.local.customers[code].queue_url, MessageBody=body
    )


def execution(runtime: Runtime, change_id: str, version: int, code: str) -> ExecutionDocument:
    body = runtime.store.get(execution_key(change_id, version, code)).body
    return ExecutionDocument.model_validate_json(body)


def test_a_trigger_is_delivered_through_the_customers_own_ses_and_recorded(
    moto_runtime: Runtime,
) -> None:
    change = stored_change(status=ChangeStatus.SUBMITTED, approved_before=False)
    for code in ("acme", "globex", "initech"):
        publish(moto_runtime.store, change, DistributionEvent.SUBMITTED, code)
        drain(worker_for(moto_runtime, code))
    assert recipients(moto_runtime, "acme") == [
        "cloud-architect@acme.example.com",
        "ops-lead@acme.example.com",
    ]
    assert recipients(moto_runtime, "globex") == ["ops-lead@globex.example.com"]
    assert recipients(moto_runtime, "initech") == [
        "cloud-architect@initech.example.com",
        "ops-lead@initech.example.com",
        "security-team@initech.example.com",
    ]
    assert {m.source for code in ("acme", "initech") for m in mail_of(moto_runtime, code)} == {
        "change-notices@ccoe.example.com"
    }
    record = execution(moto_runtime, change.change_id, 1, "acme").events[
        DistributionEvent.SUBMITTED
    ]
    assert (record.status, record.sent, record.recipients) == (ExecutionStatus.DELIVERED, 2, 2)


def test_the_same_message_twice_and_a_duplicate_s3_event_send_nothing_twice(
    moto_runtime: Runtime,
) -> None:
    change = stored_change(status=ChangeStatus.APPROVED)
    trigger = publish(moto_runtime.store, change, DistributionEvent.APPROVED, "acme")
    worker = worker_for(moto_runtime)
    drain(worker)
    first = len(mail_of(moto_runtime, "acme"))
    assert first == 5  # three announcements, two invites
    body = s3_event_body(BUCKET, trigger.key)
    queue_send(moto_runtime, "acme", body)
    queue_send(moto_runtime, "acme", body)
    moto_runtime.store.put(trigger.key, trigger.to_bytes())  # S3 sends a second event
    drain(worker)
    assert len(mail_of(moto_runtime, "acme")) == first
    record = execution(moto_runtime, change.change_id, 1, "acme").events[DistributionEvent.APPROVED]
    assert (record.sent, record.already_sent) == (0, 5)
    assert dead_letters(moto_runtime, "acme") == []


def test_poison_messages_end_in_the_dlq_or_the_record_and_neighbours_are_processed(
    moto_runtime: Runtime,
) -> None:
    good = stored_change(status=ChangeStatus.SUBMITTED, approved_before=False)
    lost = stored_change(status=ChangeStatus.SUBMITTED, approved_before=False)
    publish(moto_runtime.store, good, DistributionEvent.SUBMITTED, "acme")
    queue_send(moto_runtime, "acme", "this is not json")
    queue_send(moto_runtime, "acme", s3_event_body(BUCKET, "customers/globex/x-v1-approved.json"))
    publish(moto_runtime.store, lost, DistributionEvent.SUBMITTED, "acme", write_version=False)
    queue_send(moto_runtime, "acme", json.dumps({"hello": "world"}))
    later = stored_change(status=ChangeStatus.COMPLETED)
    publish(moto_runtime.store, later, DistributionEvent.COMPLETED, "acme")
    drain(worker_for(moto_runtime))

    assert "ops-lead@acme.example.com" in recipients(moto_runtime, "acme")
    delivered = {
        doc.change_id
        for doc in (
            execution(moto_runtime, good.change_id, 1, "acme"),
            execution(moto_runtime, later.change_id, 1, "acme"),
        )
        if all(r.status is ExecutionStatus.DELIVERED for r in doc.events.values())
    }
    assert delivered == {good.change_id, later.change_id}
    failed = execution(moto_runtime, lost.change_id, 1, "acme").events[DistributionEvent.SUBMITTED]
    assert failed.status is ExecutionStatus.FAILED
    assert "archive/" in (failed.failures[0].reason or "")
    reasons = sorted(d["reason"] for d in dead_letters(moto_runtime, "acme"))
    assert len(reasons) == 4
    assert any("not JSON" in r for r in reasons)
    assert any("outside" in r for r in reasons)
    assert any("no object" in r for r in reasons)
    assert any("neither an S3 event" in r for r in reasons)


def test_a_throttling_ses_delivers_everything_and_nothing_reaches_the_dlq(
    moto_runtime: Runtime,
) -> None:
    mapping = moto_runtime.directory.get("acme")
    mail = FakeMail(throttle_ratio=0.3, seed=3)
    worker = worker_for(moto_runtime, ses=FakeSesAccount(mail, many_contacts(mapping, 100)))
    change = stored_change(status=ChangeStatus.COMPLETED)
    publish(moto_runtime.store, change, DistributionEvent.COMPLETED, "acme")
    drain(worker)
    sent = [m.to for m in mail.sent]
    assert mail.throttled > 20
    assert len(sent) == len(set(sent)) == 100
    assert dead_letters(moto_runtime, "acme") == []


class BrokenMail(FakeMail):
    def send_email(self, **kwargs: Any) -> str:
        raise UpstreamError("SendEmail failed: InternalFailure", retryable=True)


def test_a_transient_failure_is_dead_lettered_by_the_worker_with_a_failed_record_before_sqs_would(
    moto_runtime: Runtime,
) -> None:
    mapping = moto_runtime.directory.get("acme")
    broken = BrokenMail()
    worker = worker_for(moto_runtime, ses=FakeSesAccount(broken, many_contacts(mapping, 2)))
    change = stored_change()
    publish(moto_runtime.store, change, DistributionEvent.COMPLETED, "acme")
    drain(worker, rounds=20)
    assert broken.sent == []
    letters = dead_letters(moto_runtime, "acme")
    assert len(letters) == 1
    assert (
        letters[0]["reason"] == "dead-lettered after 4 receives: SendEmail failed: InternalFailure"
    )
    record = execution(moto_runtime, change.change_id, 1, "acme").events[
        DistributionEvent.COMPLETED
    ]
    assert (record.status, record.dead_lettered) == (ExecutionStatus.FAILED, True)
    assert record.failures[0].reason == letters[0]["reason"]


def test_an_embedded_metadata_message_is_delivered_and_another_customers_is_refused(
    moto_runtime: Runtime,
) -> None:
    change = stored_change(status=ChangeStatus.APPROVED, customers=["acme"])

    def message(code: str) -> str:
        return json.dumps(
            {
                "action_type": "notification",
                "customer_code": code,
                "execution_id": "exec-7",
                "timestamp": "2030-01-01T00:00:00Z",
                "metadata": change.to_json_dict(),
            }
        )

    queue_send(moto_runtime, "acme", message("acme"))
    queue_send(moto_runtime, "acme", message("globex"))
    drain(worker_for(moto_runtime))
    assert len(recipients(moto_runtime, "acme")) == 3
    assert len(recipients(moto_runtime, "acme", raw=True)) == 2
    assert [d["reason"][:40] for d in dead_letters(moto_runtime, "acme")] == [
        "an embedded-metadata message for custome"
    ]


def test_a_stop_request_puts_the_message_back_without_sending(moto_runtime: Runtime) -> None:
    publish(moto_runtime.store, stored_change(), DistributionEvent.COMPLETED, "acme")
    worker = worker_for(moto_runtime)
    worker.stop()
    assert worker.poll_once() >= 1
    assert recipients(moto_runtime, "acme") == []
    worker.stopping.clear()
    drain(worker)
    assert len(recipients(moto_runtime, "acme")) == 3


class RecordingQueue:
    def __init__(self) -> None:
        self.calls: list[tuple[str, float]] = []
        self.called = threading.Event()

    def set_visibility(self, receipt: str, seconds: float) -> None:
        self.calls.append((receipt, seconds))
        self.called.set()


def test_the_heartbeat_extends_visibility_while_a_message_is_in_progress() -> None:
    queue = RecordingQueue()
    heartbeat = Heartbeat(queue, "receipt-1", visibility=3)
    with heartbeat:
        extended = queue.called.wait(timeout=10)
    assert extended
    receipt, seconds = queue.calls[0]
    assert (receipt, seconds) == ("receipt-1", 3.0)
    assert heartbeat.finished()


def test_an_unverified_sender_fails_the_trigger_on_its_first_receive_with_a_clear_reason(
    moto_runtime: Runtime,
) -> None:
    worker = worker_for(moto_runtime)
    processor = worker.processor
    assert isinstance(processor, CustomerProcessor)
    processor.deps.email_config = processor.deps.email_config.model_copy(
        update={"sender_address": "notices@unverified.example.org"}
    )
    change = stored_change(status=ChangeStatus.COMPLETED)
    publish(moto_runtime.store, change, DistributionEvent.COMPLETED, "acme")
    assert worker.poll_once() >= 1  # with the S3 test event
    assert recipients(moto_runtime, "acme") == []
    record = execution(moto_runtime, change.change_id, 1, "acme").events[
        DistributionEvent.COMPLETED
    ]
    assert (record.status, record.dead_lettered) == (ExecutionStatus.FAILED, True)
    assert "sender notices@unverified.example.org is not verified" in record.failures[0].reason
    letters = dead_letters(moto_runtime, "acme")
    assert [d["reason"] for d in letters] == [record.failures[0].reason]
    assert worker.poll_once() == 0  # not retried


def test_a_final_attempt_records_a_failure_first_and_a_finished_run_overwrites_it(
    moto_runtime: Runtime,
) -> None:
    from changecast.workers.processing import Attempt

    worker = worker_for(moto_runtime)
    processor = worker.processor
    assert isinstance(processor, CustomerProcessor)
    change = stored_change(status=ChangeStatus.COMPLETED)
    trigger = publish(moto_runtime.store, change, DistributionEvent.COMPLETED, "acme")
    body = s3_event_body(BUCKET, trigger.key)

    class StopAfterRecord(threading.Event):
        """Stops the run before its first send, as a kill would end it."""

        def is_set(self) -> bool:
            return moto_runtime.store.exists(execution_key(change.change_id, 1, "acme"))

    stopped = processor.handle(body, stop=StopAfterRecord(), attempt=Attempt(4, 5))
    assert stopped.outcome.value == "stopped"
    first = execution(moto_runtime, change.change_id, 1, "acme").events[DistributionEvent.COMPLETED]
    assert (first.status, first.dead_lettered) == (ExecutionStatus.FAILED, True)
    assert first.failures[0].reason.startswith("dead-lettered after 4 receives: no attempt")
    done = processor.handle(body, stop=threading.Event(), attempt=Attempt(5, 5))
    assert done.outcome.value == "done"
    last = execution(moto_runtime, change.change_id, 1, "acme").events[DistributionEvent.COMPLETED]
    assert (last.status, last.dead_lettered, last.sent) == (ExecutionStatus.DELIVERED, False, 3)


def test_an_embedded_message_whose_event_contradicts_the_change_is_dead_lettered(
    moto_runtime: Runtime,
) -> None:
    change = stored_change(status=ChangeStatus.CANCELLED, customers=["acme"])
    queue_send(
        moto_runtime,
        "acme",
        json.dumps(
            {
                "action_type": "completed",
                "customer_code": "acme",
                "execution_id": "exec-9",
                "timestamp": "2030-01-01T00:00:00Z",
                "metadata": change.to_json_dict(),
            }
        ),
    )
    drain(worker_for(moto_runtime))
    assert recipients(moto_runtime, "acme") == []
    assert [d["reason"] for d in dead_letters(moto_runtime, "acme")] == [
        f"the message asks for completed but change {change.change_id} v1 is cancelled"
    ]

"""The Lambda handler on in-process moto: partial batch failures, dead letters, cold start."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from changecast.bootstrap import Runtime
from changecast.changes.models import ChangeStatus
from changecast.delivery.pacing import TokenBucket
from changecast.delivery.redelivery import s3_event_body
from changecast.distribution.models import DistributionEvent
from changecast.errors import UpstreamError
from changecast.local.moto_store import sent_mail
from changecast.workers import lambda_handler
from changecast.workers.lambda_handler import build_lambda_worker, handle_batch
from tests.delivery_support import many_contacts, publish, stored_change
from tests.fakes.mail import FakeMail, FakeSesAccount

QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:changecast-acme"


def sqs_event(*bodies: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"m{number}",
                "receiptHandle": f"r{number}",
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": QUEUE_ARN,
                "awsRegion": "us-east-1",
            }
            for number, body in enumerate(bodies)
        ]
    }


class FlakyMail(FakeMail):
    """Fails (transiently) every message whose subject mentions 'flaky'."""

    def send_email(self, **kwargs: Any) -> str:
        if "flaky" in kwargs["subject"]:
            raise UpstreamError("SendEmail failed: ServiceUnavailable", retryable=True)
        return super().send_email(**kwargs)


def dlq_bodies(runtime: Runtime) -> list[str]:
    assert runtime.local is not None
    answer = runtime.aws.client("sqs").receive_message(
        QueueUrl=runtime.local.customers["acme"].dlq_url, MaxNumberOfMessages=10
    )
    return [m["Body"] for m in answer.get("Messages", [])]


def test_one_bad_record_never_fails_the_whole_batch(moto_runtime: Runtime) -> None:
    mail = FlakyMail()
    mapping = moto_runtime.directory.get("acme")
    worker = build_lambda_worker(
        moto_runtime, "acme", ses=FakeSesAccount(mail, many_contacts(mapping, 3))
    )
    worker.processor.deps.bucket = TokenBucket(10_000)
    worker.processor.deps.backoff.cap = 0.001
    store = moto_runtime.store
    fine = publish(store, stored_change(title="Fine change"), DistributionEvent.COMPLETED, "acme")
    flaky = publish(store, stored_change(title="A flaky one"), DistributionEvent.COMPLETED, "acme")
    bucket = moto_runtime.config.s3_config.bucket_name
    answer = handle_batch(
        sqs_event(
            s3_event_body(bucket, fine.key),
            "garbage",
            s3_event_body(bucket, flaky.key),
        ),
        None,
        worker,
    )
    assert answer == {"batchItemFailures": [{"itemIdentifier": "m2"}]}
    assert sorted(m.to for m in mail.sent) == [f"person-{n:04d}@acme.example.com" for n in range(3)]
    assert dlq_bodies(moto_runtime) == ["garbage"]


@pytest.fixture
def lambda_env(moto_runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A deployed worker's environment: aws mode (moto in-process), config and a migrated index."""
    data_dir = moto_runtime.settings.data_dir
    moto_runtime.index  # noqa: B018 - migrates the database, as `changecast index migrate` does
    for name, value in {
        "CHANGECAST_CUSTOMER": "acme",
        "CHANGECAST_MODE": "aws",
        "CHANGECAST_DATA_DIR": str(data_dir),
        "CHANGECAST_CONFIG": str(data_dir / "config.json"),
        "CHANGECAST_DATABASE_URL": moto_runtime.settings.index_url,
    }.items():
        monkeypatch.setenv(name, value)
    lambda_handler.current_worker.cache_clear()
    yield data_dir
    lambda_handler.current_worker.cache_clear()


def test_the_handler_builds_its_worker_once_from_the_environment(
    moto_runtime: Runtime, lambda_env: Path
) -> None:
    change = stored_change(status=ChangeStatus.SUBMITTED, approved_before=False)
    trigger = publish(moto_runtime.store, change, DistributionEvent.SUBMITTED, "acme")
    body = s3_event_body(moto_runtime.config.s3_config.bucket_name, trigger.key)
    assert lambda_handler.handler(sqs_event(body), None) == {"batchItemFailures": []}
    assert lambda_handler.handler(sqs_event(body), None) == {"batchItemFailures": []}
    account = moto_runtime.directory.get("acme").account_id
    assert sorted(a for m in sent_mail(account, "us-east-1") for a in m.destinations) == [
        "cloud-architect@acme.example.com",
        "ops-lead@acme.example.com",
    ]
    assert lambda_handler.current_worker.cache_info().misses == 1
    assert json.loads(dlq_bodies(moto_runtime)[0] if dlq_bodies(moto_runtime) else "[]") == []


def test_a_record_failing_on_its_last_receives_is_dead_lettered_with_a_failed_record(
    moto_runtime: Runtime,
) -> None:
    from changecast.delivery.models import ExecutionDocument, ExecutionStatus
    from changecast.layout import execution_key

    mapping = moto_runtime.directory.get("acme")
    worker = build_lambda_worker(
        moto_runtime, "acme", ses=FakeSesAccount(FlakyMail(), many_contacts(mapping, 2))
    )
    worker.processor.deps.bucket = TokenBucket(10_000)
    worker.processor.deps.backoff.cap = 0.001
    change = stored_change(title="A flaky one")
    flaky = publish(moto_runtime.store, change, DistributionEvent.COMPLETED, "acme")
    event = sqs_event(s3_event_body(moto_runtime.config.s3_config.bucket_name, flaky.key))
    event["Records"][0]["attributes"]["ApproximateReceiveCount"] = "4"  # maxReceiveCount is 5
    assert handle_batch(event, None, worker) == {"batchItemFailures": []}
    assert dlq_bodies(moto_runtime) == [event["Records"][0]["body"]]
    body = moto_runtime.store.get(execution_key(change.change_id, 1, "acme")).body
    record = ExecutionDocument.model_validate_json(body).events[DistributionEvent.COMPLETED]
    assert (record.status, record.dead_lettered) == (ExecutionStatus.FAILED, True)
    assert record.failures[0].reason.startswith("dead-lettered after 4 receives: SendEmail failed")

"""SES events end to end on in-process moto: send, simulated SES events, SNS, SQS, the worker.

The demo customer initech's list holds SES's mailbox simulator addresses; its sends go through
the embedded simulator, whose events reach the hub ``ses-events`` queue through a real moto SNS
topic subscription, and the events worker (its long-poll loop and its Lambda handler) applies
them to the DynamoDB ledger, the suppression records and the read model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from changecast.aws.sns import SnsTopics
from changecast.bootstrap import Runtime
from changecast.delivery.ledger import LedgerState
from changecast.distribution.models import DistributionEvent
from changecast.local import provision
from changecast.local.ses_simulator import SesSimulator, SimulatedSes, sns_notification
from changecast.workers.runner import QueueWorker
from changecast.workers.ses_events import build_events_worker, events_lambda
from changecast.workers.wiring import AssumedSes, suppressions_of
from tests.aws.test_worker_runner import drain, mail_of, worker_for
from tests.delivery_support import publish, stored_change

CODE = "initech"
SIMULATED = {
    "success@simulator.amazonses.com": "delivered",
    "bounce@simulator.amazonses.com": "bounced",
    "complaint@simulator.amazonses.com": "complained",
    "suppressionlist@simulator.amazonses.com": "bounced",
}


@dataclass
class Pipeline:
    runtime: Runtime
    simulator: SesSimulator
    published: list[tuple[str, str]]
    events_url: str

    def events_worker(self) -> QueueWorker:
        worker = build_events_worker(self.runtime, wait_seconds=0)
        worker.retry_base = 0
        return worker

    def deliver(self, event: DistributionEvent = DistributionEvent.APPROVED) -> str:
        """Publish a change's trigger for initech, deliver it, and let SES's events flow."""
        change = stored_change(customers=[CODE])
        publish(self.runtime.store, change, event, CODE)
        mapping = self.runtime.directory.get(CODE)
        ses = SimulatedSes(
            AssumedSes(self.runtime.aws, mapping),
            self.simulator,
            provision.events_topic_arn(self.runtime.config, CODE),
            mapping.account_id,
            mapping.region,
        )
        drain(worker_for(self.runtime, CODE, ses=ses))
        self.simulator.flush()
        drain(self.events_worker())
        return change.change_id

    def outcomes(self, change_id: str) -> dict[str, tuple[str | None, str | None]]:
        return {
            e.recipient: (e.outcome, e.outcome_detail)
            for e in self.runtime.ledger.entries_for(change_id, CODE)
            if e.channel.value == "email"
        }

    def dead_letters(self) -> list[tuple[str, str]]:
        sqs = self.runtime.aws.client("sqs")
        url = f"{self.events_url}-dlq"
        found = []
        while answer := sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        ).get("Messages"):
            for message in answer:
                reason = message["MessageAttributes"]["changecast-reason"]["StringValue"]
                found.append((message["Body"], reason))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return found


@pytest.fixture
def pipeline(moto_runtime: Runtime) -> Pipeline:
    runtime = moto_runtime
    url = provision.create_event_pipeline(runtime.aws, runtime.config)
    assert runtime.local is not None
    runtime.local = runtime.local.model_copy(update={"events_queue_url": url})
    topics = SnsTopics(runtime.aws.client("sns"))
    published: list[tuple[str, str]] = []

    def publish_event(topic: str, message: str) -> str:
        published.append((topic, message))
        return topics.publish(topic, message)

    return Pipeline(runtime, SesSimulator(publish=publish_event), published, url)


def test_each_simulator_address_ends_with_the_outcome_ses_would_give(pipeline: Pipeline) -> None:
    change_id = pipeline.deliver()
    outcomes = pipeline.outcomes(change_id)
    for address, outcome in SIMULATED.items():
        assert outcomes[address][0] == outcome, (address, outcomes[address])
    assert outcomes["bounce@simulator.amazonses.com"][1] == (
        "Permanent/General: smtp; 550 5.1.1 user unknown"
    )
    assert outcomes["complaint@simulator.amazonses.com"][1] == "abuse"
    others = {r: o for r, o in outcomes.items() if r not in SIMULATED}
    assert others and {o[0] for o in others.values()} == {"delivered"}
    (row,) = [
        r for r in pipeline.runtime.deliveries.for_change(change_id) if r.event.value == "approved"
    ]
    every = pipeline.runtime.ledger.entries_for(change_id, CODE)  # emails and invites
    delivered = sum(1 for e in every if e.outcome == "delivered")
    assert delivered >= 1 + len(others)
    assert (row.delivered, row.bounced, row.complained) == (delivered, 2, 1)
    assert pipeline.dead_letters() == []


def test_replaying_every_event_twice_in_reverse_order_changes_nothing(pipeline: Pipeline) -> None:
    change_id = pipeline.deliver()
    before = pipeline.outcomes(change_id)
    rows = pipeline.runtime.deliveries.for_change(change_id)
    topics = SnsTopics(pipeline.runtime.aws.client("sns"))
    for topic, message in list(reversed(pipeline.published)) * 2:
        topics.publish(topic, message)
    drain(pipeline.events_worker())
    assert pipeline.outcomes(change_id) == before
    after = pipeline.runtime.deliveries.for_change(change_id)
    assert [(r.delivered, r.bounced, r.complained) for r in after] == [
        (r.delivered, r.bounced, r.complained) for r in rows
    ]


def test_a_bounced_or_complaining_address_is_suppressed_and_a_later_change_skips_it(
    pipeline: Pipeline,
) -> None:
    pipeline.deliver()
    suppressed = {r.email: r for r in suppressions_of(pipeline.runtime).suppressed(CODE)}
    assert set(suppressed) == {
        "bounce@simulator.amazonses.com",
        "complaint@simulator.amazonses.com",
        "suppressionlist@simulator.amazonses.com",
    }
    assert "SES account list: not added" in suppressed["bounce@simulator.amazonses.com"].detail
    before = len(mail_of(pipeline.runtime, CODE))
    later = pipeline.deliver(DistributionEvent.COMPLETED)
    mailed = [a for m in mail_of(pipeline.runtime, CODE)[before:] for a in m.destinations]
    assert "success@simulator.amazonses.com" in mailed
    assert not set(mailed) & set(suppressed)
    entries = pipeline.runtime.ledger.entries_for(later, CODE)
    skipped = {e.recipient for e in entries if e.state is LedgerState.SUPPRESSED}
    assert skipped == set(suppressed)
    assert {e.outcome for e in entries if e.recipient in skipped} == {"suppressed"}


def test_a_malformed_event_is_dead_lettered_with_a_reason_and_the_worker_goes_on(
    pipeline: Pipeline,
) -> None:
    sqs = pipeline.runtime.aws.client("sqs")
    sqs.send_message(QueueUrl=pipeline.events_url, MessageBody="{not json")
    topic = provision.events_topic_arn(pipeline.runtime.config, CODE)
    unknown = sns_notification(topic, json.dumps({"eventType": "Open", "mail": {}}))
    sqs.send_message(QueueUrl=pipeline.events_url, MessageBody=unknown)
    change_id = pipeline.deliver()
    reasons = sorted(reason for _, reason in pipeline.dead_letters())
    assert len(reasons) == 2
    assert "not JSON" in reasons[1] or "not JSON" in reasons[0]
    assert any("unknown SES event type 'Open'" in r for r in reasons)
    assert pipeline.outcomes(change_id)["bounce@simulator.amazonses.com"][0] == "bounced"


def lambda_event(pipeline: Pipeline) -> dict[str, Any]:
    """The SQS event a Lambda event source mapping would hand over (received from moto)."""
    sqs = pipeline.runtime.aws.client("sqs")
    arn = sqs.get_queue_attributes(QueueUrl=pipeline.events_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    records = []
    while answer := sqs.receive_message(
        QueueUrl=pipeline.events_url,
        MaxNumberOfMessages=10,
        MessageSystemAttributeNames=["ApproximateReceiveCount"],
    ).get("Messages"):
        for m in answer:
            records.append(
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "attributes": m["Attributes"],
                    "eventSource": "aws:sqs",
                    "eventSourceARN": arn,
                }
            )
    return {"Records": records}


def test_the_lambda_handler_applies_a_batch_and_reports_only_the_retryable_record(
    pipeline: Pipeline,
) -> None:
    change = stored_change(customers=[CODE])
    publish(pipeline.runtime.store, change, DistributionEvent.APPROVED, CODE)
    mapping = pipeline.runtime.directory.get(CODE)
    ses = SimulatedSes(
        AssumedSes(pipeline.runtime.aws, mapping),
        pipeline.simulator,
        provision.events_topic_arn(pipeline.runtime.config, CODE),
        mapping.account_id,
        mapping.region,
    )
    drain(worker_for(pipeline.runtime, CODE, ses=ses))
    pipeline.simulator.flush()
    sqs = pipeline.runtime.aws.client("sqs")
    sqs.send_message(QueueUrl=pipeline.events_url, MessageBody="[]")
    topic, message = pipeline.published[0]
    ours_not_yet = json.loads(message)
    ours_not_yet["mail"]["messageId"] = "not-recorded-yet"
    body = sns_notification(topic, json.dumps(ours_not_yet))
    sqs.send_message(QueueUrl=pipeline.events_url, MessageBody=body)
    event = lambda_event(pipeline)
    answer = events_lambda(pipeline.runtime).handle_batch(event)
    retried = {f["itemIdentifier"] for f in answer["batchItemFailures"]}
    bodies = {r["messageId"]: r["body"] for r in event["Records"]}
    assert [json.loads(json.loads(bodies[i])["Message"])["mail"]["messageId"] for i in retried] == [
        "not-recorded-yet"
    ]
    assert [reason for _, reason in pipeline.dead_letters()] == [
        "the message body is not a JSON object"
    ]
    outcomes = pipeline.outcomes(change.change_id)
    assert {a: outcomes[a][0] for a in SIMULATED} == SIMULATED
    (row,) = list(pipeline.runtime.deliveries.for_change(change.change_id))
    assert (row.bounced, row.complained) == (2, 1)


def complaint_about(pipeline: Pipeline, recipient: str) -> dict[str, Any]:
    """A Complaint record about initech's message to ``recipient`` (its Delivery, re-typed)."""
    for _topic, message in pipeline.published:
        record: dict[str, Any] = json.loads(message)
        if record["eventType"] == "Delivery" and record["mail"]["destination"] == [recipient]:
            record["eventType"] = "Complaint"
            record["complaint"] = {
                "complainedRecipients": [{"emailAddress": recipient}],
                "timestamp": "2031-01-01T00:00:00.000Z",
                "complaintFeedbackType": "abuse",
            }
            del record["delivery"]
            return record
    raise AssertionError(f"no Delivery event for {recipient}")


def test_an_event_on_another_customers_topic_changes_nothing_and_is_dead_lettered(
    pipeline: Pipeline,
) -> None:
    """globex publishes, on its own topic, complaints about initech's message: account left
    out, forged to initech's, or its own; and a raw record with no envelope at all."""
    change_id = pipeline.deliver()
    before = pipeline.outcomes(change_id)
    rows = [(r.delivered, r.complained) for r in pipeline.runtime.deliveries.for_change(change_id)]
    victim = "success@simulator.amazonses.com"
    initech = pipeline.runtime.directory.get(CODE).account_id
    globex = pipeline.runtime.directory.get("globex").account_id
    globex_topic = provision.events_topic_arn(pipeline.runtime.config, "globex")
    topics = SnsTopics(pipeline.runtime.aws.client("sns"))
    for account in (None, initech, globex):
        record = complaint_about(pipeline, victim)
        if account is None:
            del record["mail"]["sendingAccountId"]
        else:
            record["mail"]["sendingAccountId"] = account
        topics.publish(globex_topic, json.dumps(record))
    raw = complaint_about(pipeline, victim)  # raw message delivery: no topic to prove anything
    sqs = pipeline.runtime.aws.client("sqs")
    sqs.send_message(QueueUrl=pipeline.events_url, MessageBody=json.dumps(raw))
    drain(pipeline.events_worker())

    assert pipeline.outcomes(change_id) == before
    assert before[victim][0] == "delivered"
    after = [(r.delivered, r.complained) for r in pipeline.runtime.deliveries.for_change(change_id)]
    assert after == rows
    suppressed = {r.email for r in suppressions_of(pipeline.runtime).suppressed(CODE)}
    assert victim not in suppressed
    reasons = sorted(reason for _, reason in pipeline.dead_letters())
    assert len(reasons) == 4
    foreign = [r for r in reasons if "came through customer globex's events topic" in r]
    assert len(foreign) == 3
    assert all("is customer initech's" in r and globex_topic in r for r in foreign)
    (unproven,) = [r for r in reasons if r not in foreign]
    assert "without its SNS envelope (no TopicArn)" in unproven
    assert "cannot be proven" in unproven


def nested(depth_bytes: int = 10_000) -> str:
    half = depth_bytes // 2
    return "[" * half + "]" * half


def test_a_10_kb_nested_record_fails_only_itself_in_the_lambda_and_in_the_loop(
    pipeline: Pipeline,
) -> None:
    change = stored_change(customers=[CODE])
    publish(pipeline.runtime.store, change, DistributionEvent.APPROVED, CODE)
    mapping = pipeline.runtime.directory.get(CODE)
    topic = provision.events_topic_arn(pipeline.runtime.config, CODE)
    ses = SimulatedSes(
        AssumedSes(pipeline.runtime.aws, mapping),
        pipeline.simulator,
        topic,
        mapping.account_id,
        mapping.region,
    )
    drain(worker_for(pipeline.runtime, CODE, ses=ses))
    sqs = pipeline.runtime.aws.client("sqs")
    hostile = [
        nested(),  # the body itself
        sns_notification(topic, nested()),  # inside a real envelope
        sns_notification(topic, '{"eventType": "Bounce", "mail": ' + nested() + "}"),
    ]
    sqs.send_message(QueueUrl=pipeline.events_url, MessageBody=hostile[0])
    pipeline.simulator.flush()  # the good events, after the first hostile one
    for body in hostile[1:]:
        sqs.send_message(QueueUrl=pipeline.events_url, MessageBody=body)
    event = lambda_event(pipeline)
    assert len(event["Records"]) > 10
    answer = events_lambda(pipeline.runtime).handle_batch(event)
    assert answer == {"batchItemFailures": []}
    reasons = [reason for _, reason in pipeline.dead_letters()]
    assert len(reasons) == 3
    assert all("nests too deep" in r or "nests deeper than" in r for r in reasons), reasons
    outcomes = pipeline.outcomes(change.change_id)
    assert {a: outcomes[a][0] for a in SIMULATED} == SIMULATED

    # the long-poll loop (``changecast events run``): the same bodies, one worker
    for body in hostile:
        sqs.send_message(QueueUrl=pipeline.events_url, MessageBody=body)
    replay = SnsTopics(pipeline.runtime.aws.client("sns"))
    for published_topic, message in pipeline.published:
        replay.publish(published_topic, message)
    drain(pipeline.events_worker())
    reasons = [reason for _, reason in pipeline.dead_letters()]
    assert len(reasons) == 3
    assert all("nest" in r for r in reasons), reasons
    assert pipeline.outcomes(change.change_id) == outcomes


def test_an_event_quoting_characters_sqs_refuses_is_dead_lettered_with_an_escaped_reason(
    pipeline: Pipeline,
) -> None:
    """A stranger's event whose message id holds NUL, ESC or BS: the reason quotes the id, and
    SQS refuses those characters in an attribute (moto does not), so they are written escaped."""
    stranger = provision.events_topic_arn(pipeline.runtime.config, CODE).replace(CODE, "nobody")
    sqs = pipeline.runtime.aws.client("sqs")
    ids = ["m\x00x", "m\x1b[31mx", "m\x08x"]
    for message_id in ids:
        record = {
            "eventType": "Complaint",
            "mail": {
                "messageId": message_id,
                "timestamp": "2031-01-01T00:00:00.000Z",
                "destination": ["a@acme.example.com"],
            },
            "complaint": {
                "complainedRecipients": [{"emailAddress": "a@acme.example.com"}],
                "timestamp": "2031-01-01T00:00:00.000Z",
            },
        }
        sqs.send_message(
            QueueUrl=pipeline.events_url, MessageBody=sns_notification(stranger, json.dumps(record))
        )
    answer = events_lambda(pipeline.runtime).handle_batch(lambda_event(pipeline))
    assert answer == {"batchItemFailures": []}
    reasons = sorted(reason for _, reason in pipeline.dead_letters())
    assert len(reasons) == 3
    assert all("is no customer's SES events topic" in r for r in reasons), reasons
    assert all(not any(c in r for c in "\x00\x1b\x08") for r in reasons), reasons
    assert sorted(r.split(":")[0] for r in reasons) == sorted(
        ["SES message m\\x00x", "SES message m\\x1b[31mx", "SES message m\\x08x"]
    )

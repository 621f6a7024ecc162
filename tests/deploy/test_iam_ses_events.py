"""The SES events worker under its policy template, in moto with IAM enforcement on.

The hub's ``ses-events`` queue and DLQ and the events role (``ses-events-worker.json.tftpl``,
as modules/hub/ses_events.tf renders it) are added to the deployed world of ``iam_world``; the
Lambda handler then cold-starts from the environment Terraform sets, under that role, and
applies a batch: a delivery, a permanent bounce (suppressed), an untagged event found by
message id, and a poison record that goes to the DLQ. Removing any grant the run uses breaks it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from changecast.aws.dynamodb import DynamoDbLedger, DynamoDbSuppressions
from changecast.bootstrap import build_runtime
from changecast.delivery.ledger import Channel, DeliveryKey, LedgerKey
from changecast.delivery.ses_events import message_tags
from changecast.distribution.models import DistributionEvent
from changecast.local.ses_simulator import SentMessage, simulated_events, sns_notification
from changecast.settings import load_settings
from changecast.workers.ses_events import events_lambda
from tests.deploy.iam_world import (
    DB_SECRET_ARN,
    DB_SECRET_UNREAD,
    HUB,
    KMS_KEY_ARN,
    LEDGER_TABLE,
    LOGS,
    PARTITION,
    REGION,
    Creds,
    Templates,
    World,
    _assume,
    _role,
    authorize_resources,
    build_world,
    enforced,
    original_templates,
)
from tests.deploy.terraform_support import as_list, render
from tests.deploy.test_iam_e2e import grants, without

pytestmark = pytest.mark.usefixtures("aws_env")

TEMPLATE = "ses-events-worker.json.tftpl"
NOT_EXERCISED = {
    (TEMPLATE, "DatabaseCredentials", "secretsmanager:GetSecretValue"): DB_SECRET_UNREAD,
    (TEMPLATE, "BucketAndLedgerKey", "kms:Decrypt"): "moto's S3 and DynamoDB do not call KMS",
    (TEMPLATE, "BucketAndLedgerKey", "kms:GenerateDataKey"): "moto does not call KMS",
    (TEMPLATE, "EventsQueue", "sqs:ReceiveMessage"): "the Lambda event source receives",
    (TEMPLATE, "EventsQueue", "sqs:DeleteMessage"): "the Lambda event source deletes",
    (TEMPLATE, "EventsQueue", "sqs:ChangeMessageVisibility"): "only `events run` (the loop)",
    (TEMPLATE, "FindEntriesByMessageId", "dynamodb:Query"): (
        "moto authorises a GSI query against the table ARN (MatchEntries)"
    ),
    (TEMPLATE, "CustomersSuppressionRoles", "sts:AssumeRole"): (
        "examples/config.json names no ses_events_role_arn; the rendered ARNs are checked below"
    ),
    (TEMPLATE, "OwnLogs", "logs:CreateLogStream"): "the Lambda service writes logs",
    (TEMPLATE, "OwnLogs", "logs:PutLogEvents"): "the Lambda service writes logs",
}
EXERCISED = [g for g in grants(TEMPLATE) if g not in NOT_EXERCISED]
T0 = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)


@dataclass
class EventsWorld:
    world: World
    creds: Creds
    queue_arn: str
    dlq_url: str
    document: dict[str, Any]


def build(tmp_path: Path, templates: Templates) -> EventsWorld:
    from changecast.aws.sessions import AwsClients, AwsTarget

    world = build_world(tmp_path, templates)
    aws = AwsClients(target=AwsTarget(region=REGION))
    sqs = aws.client("sqs")
    dlq_url = sqs.create_queue(QueueName="changecast-ses-events-dlq")["QueueUrl"]
    dlq_arn = f"arn:{PARTITION}:sqs:{REGION}:{HUB}:changecast-ses-events-dlq"
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"}
    sqs.create_queue(
        QueueName="changecast-ses-events", Attributes={"RedrivePolicy": json.dumps(redrive)}
    )
    queue_arn = f"arn:{PARTITION}:sqs:{REGION}:{HUB}:changecast-ses-events"
    suppression_roles = [
        f"arn:{PARTITION}:iam::{m.account_id}:role/changecast-ses-suppression"
        for m in world.config.customer_mappings.values()
    ]
    policy = render(
        TEMPLATE,
        {
            "bucket_arn": world.bucket_arn(),
            "kms_key_arn": KMS_KEY_ARN,
            "queue_arn": queue_arn,
            "dlq_arn": dlq_arn,
            "ledger_table_arn": f"arn:{PARTITION}:dynamodb:{REGION}:{HUB}:table/{LEDGER_TABLE}",
            "events_role_arns": as_list(*suppression_roles),
            "secret_arn": world.secret_arn,
            "db_secret_arn": DB_SECRET_ARN,
            "log_group_arn": f"{LOGS}:log-group:/aws/lambda/changecast-ses-events",
        },
        text=templates[TEMPLATE],
    )
    trust = render(
        "lambda-trust.json.tftpl", {"account_id": HUB}, text=templates["lambda-trust.json.tftpl"]
    )
    arn = _role(aws.client("iam"), "changecast-ses-events", trust, policy)
    creds = _assume(aws.client("sts"), arn, "lambda-ses-events")
    return EventsWorld(world, creds, queue_arn, dlq_url, json.loads(policy))


@pytest.fixture
def make_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from moto import mock_aws

    authorize_resources(monkeypatch)
    with mock_aws():

        def make(templates: Templates | None = None) -> EventsWorld:
            return build(tmp_path, templates or original_templates())

        yield make


def batch(world: EventsWorld) -> tuple[dict[str, Any], DeliveryKey]:
    """Two sent messages in the ledger (written unenforced), and the batch SQS would hand over."""
    from changecast.aws.sessions import AwsClients, AwsTarget

    dynamodb = AwsClients(target=AwsTarget(region=REGION)).client("dynamodb")
    ledger = DynamoDbLedger(dynamodb, LEDGER_TABLE)
    key = DeliveryKey("acme", "11111111-2222-4333-8444-555555555555", 1, DistributionEvent.APPROVED)
    account = world.world.config.customer_mappings["acme"].account_id
    bodies = []
    for n, recipient in enumerate(("ops-lead@acme.example.com", "bounce@simulator.amazonses.com")):
        entry = LedgerKey(key, Channel.EMAIL, recipient)
        ledger.claim(entry, topic="aws-announce", owner="w", now=T0, lease=timedelta(60))
        ledger.mark_sent(entry, message_id=f"msg-{n}", now=T0)
        tags = message_tags(key, Channel.EMAIL) if n else {}  # the first is found by message id
        sent = SentMessage(f"msg-{n}", "s@ccoe.example.com", recipient, tags, T0, account, REGION)
        # the deployed topic (customer-account Terraform): no ses_events_topic_arn in config.json,
        # so the worker knows it by its account and region
        topic = f"arn:{PARTITION}:sns:{REGION}:{account}:changecast-ses-events"
        bodies.append(sns_notification(topic, json.dumps(simulated_events(sent)[1])))
    bodies.append("not an SES event")
    records = [
        {
            "messageId": f"r{i}",
            "body": body,
            "attributes": {"ApproximateReceiveCount": "1"},
            "eventSource": "aws:sqs",
            "eventSourceARN": world.queue_arn,
            "awsRegion": REGION,
        }
        for i, body in enumerate(bodies)
    ]
    return {"Records": records}, key


def run_events(world: EventsWorld, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """The handler's cold start and one batch under the events role; '' when all went right."""
    event, key = batch(world)
    for name, value in {
        "CHANGECAST_MODE": "aws",
        "CHANGECAST_CONFIG": f"s3://{world.world.bucket}/config/config.json",
        "CHANGECAST_SECRETS_ID": world.world.secret_arn,
        "CHANGECAST_DATABASE_URL": world.world.index_url,
        "CHANGECAST_DELIVERY__LEDGER_TABLE": LEDGER_TABLE,
        "CHANGECAST_DATA_DIR": str(tmp_path / "lambda"),
        "AWS_ACCESS_KEY_ID": world.creds.access_key,
        "AWS_SECRET_ACCESS_KEY": world.creds.secret_key,
        "AWS_SESSION_TOKEN": world.creds.token,
        "AWS_SECURITY_TOKEN": world.creds.token,
        "AWS_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    with enforced():
        try:
            answer = events_lambda(build_runtime(load_settings(), process="worker")).handle_batch(
                event
            )
        except Exception as exc:  # any failure of the run is the finding
            return f"{type(exc).__name__}: {exc}"[:500]
    if answer != {"batchItemFailures": []}:
        return f"handler answered {answer}"
    from changecast.aws.sessions import AwsClients, AwsTarget

    hub = AwsClients(target=AwsTarget(region=REGION))
    ledger = DynamoDbLedger(hub.client("dynamodb"), LEDGER_TABLE)
    outcomes = {e.recipient: e.outcome for e in ledger.entries(key.partition)}
    if outcomes != {
        "ops-lead@acme.example.com": "delivered",
        "bounce@simulator.amazonses.com": "bounced",
    }:
        return f"outcomes {outcomes}"
    suppressed = DynamoDbSuppressions(hub.client("dynamodb"), LEDGER_TABLE).suppressed("acme")
    if [r.email for r in suppressed] != ["bounce@simulator.amazonses.com"]:
        return f"suppressed {suppressed}"
    dead = hub.client("sqs").receive_message(QueueUrl=world.dlq_url).get("Messages", [])
    if [m["Body"] for m in dead] != ["not an SES event"]:
        return f"DLQ holds {dead}"
    return ""


def test_the_events_worker_applies_a_batch_under_its_template(
    make_world: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    world: EventsWorld = make_world()
    assert run_events(world, monkeypatch, tmp_path) == ""


@pytest.mark.parametrize("grant", EXERCISED, ids=lambda g: f"{g[1]}:{g[2]}")
def test_removing_any_grant_the_events_worker_uses_breaks_it(
    grant: tuple[str, str, str], make_world: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    name, sid, action = grant
    templates = original_templates()
    templates[name] = without(templates[name], sid, action)
    assert run_events(make_world(templates), monkeypatch, tmp_path) != "", (sid, action)


def test_grants_moto_cannot_exercise_are_still_granted_and_scoped(make_world: Any) -> None:
    for grant in NOT_EXERCISED:
        assert grant in grants(TEMPLATE), grant
    world: EventsWorld = make_world()
    statements = {s["Sid"]: s for s in world.document["Statement"]}
    roles = statements["CustomersSuppressionRoles"]["Resource"]
    assert roles and all(r.endswith(":role/changecast-ses-suppression") for r in roles)
    assert statements["FindEntriesByMessageId"]["Resource"] == [
        f"arn:{PARTITION}:dynamodb:{REGION}:{HUB}:table/{LEDGER_TABLE}/index/by-message-id"
    ]
    leading = statements["SuppressAddresses"]["Condition"]["ForAllValues:StringLike"]
    assert leading == {"dynamodb:LeadingKeys": ["!suppressed#*"]}
    marks = statements["AddOutcomeMarks"]["Condition"]["ForAllValues:StringLike"]
    assert marks == {"dynamodb:LeadingKeys": ["~*"]}  # outcome marks only: never an entry
    assert statements["AddOutcomeMarks"]["Action"] == ["dynamodb:BatchWriteItem"]

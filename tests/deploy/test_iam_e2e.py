"""The policy templates, attached in moto with IAM enforcement on, under the real code.

The portal (ChangeArchive on S3ObjectStore) publishes a change under the portal role; the
worker Lambda handler, cold-starting from the environment Terraform sets, delivers it under the
acme worker role and the acme SES role. Then: removing any grant the code uses breaks that run,
and widening the worker's grants to another customer is caught by the isolation probes.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from changecast.aws.s3 import S3ObjectStore
from changecast.changes.archive import ChangeArchive
from changecast.changes.models import ChangeStatus
from changecast.delivery.ledger import Channel, DeliveryKey, LedgerKey
from changecast.distribution.models import DistributionEvent
from changecast.ids import ChangeId
from changecast.layout import execution_key
from changecast.local.moto_store import sent_mail
from changecast.workers import lambda_handler
from tests.delivery_support import publish, stored_change
from tests.deploy.iam_world import (
    DB_SECRET_UNREAD,
    HUB,
    REGION,
    Templates,
    World,
    authorize_resources,
    build_world,
    enforced,
    original_templates,
)
from tests.deploy.terraform_support import render

pytestmark = pytest.mark.usefixtures("aws_env")

# Grants a run in moto cannot exercise, each with why; the tests check they stay in the template.
NOT_EXERCISED = {
    ("worker.json.tftpl", "DatabaseCredentials", "secretsmanager:GetSecretValue"): DB_SECRET_UNREAD,
    ("portal.json.tftpl", "DatabaseCredentials", "secretsmanager:GetSecretValue"): DB_SECRET_UNREAD,
    ("worker.json.tftpl", "MissingKeysReadAsNotFound", "s3:ListBucket"): (
        "moto answers NoSuchKey without it; AWS answers AccessDenied for the first execution record"
    ),
    ("worker.json.tftpl", "BucketKey", "kms:Decrypt"): "moto's S3 does not call KMS",
    ("worker.json.tftpl", "BucketKey", "kms:GenerateDataKey"): "moto's S3 does not call KMS",
    ("worker.json.tftpl", "OwnLogs", "logs:CreateLogStream"): "the Lambda service writes logs",
    ("worker.json.tftpl", "OwnLogs", "logs:PutLogEvents"): "the Lambda service writes logs",
    ("ses-sending.json.tftpl", "SendQuotaHasNoResource", "ses:GetAccount"): (
        "denied, the worker falls back to the configured send rate (max_send_rate is optional)"
    ),
}

ACME_APPROVERS = ["cloud-architect@acme.example.com", "ops-lead@acme.example.com"]


# ---- editing a template ---------------------------------------------------------------------


def _load(text: str) -> dict[str, Any]:
    """A template as JSON: bare list placeholders become marker strings first."""
    marked = text
    for name in {part.split("}")[0] for part in text.split(": ${")[1:]}:
        marked = marked.replace(f": ${{{name}}}", f': "@@{name}@@"')
    loaded: dict[str, Any] = json.loads(marked)
    return loaded


def _dump(document: dict[str, Any]) -> str:
    text = json.dumps(document, indent=2)
    while '"@@' in text:
        start = text.index('"@@')
        end = text.index('@@"', start + 3)
        text = text[:start] + "${" + text[start + 3 : end] + "}" + text[end + 3 :]
    return text


def without(text: str, sid: str, action: str) -> str:
    """``text`` without ``action`` in statement ``sid`` (the statement goes if it empties)."""
    document = _load(text)
    kept = []
    for statement in document["Statement"]:
        if statement["Sid"] == sid:
            actions = [a for a in statement["Action"] if a != action]
            assert len(actions) < len(statement["Action"]), f"{sid} has no {action}"
            if not actions:
                continue
            statement["Action"] = actions
        kept.append(statement)
    document["Statement"] = kept
    return _dump(document)


def without_resource(text: str, sid: str, resource: str) -> str:
    document = _load(text)
    for statement in document["Statement"]:
        if statement["Sid"] == sid:
            assert resource in statement["Resource"]
            statement["Resource"] = [r for r in statement["Resource"] if r != resource]
    return _dump(document)


def grants(name: str) -> list[tuple[str, str, str]]:
    return [
        (name, statement["Sid"], action)
        for statement in _load(original_templates()[name])["Statement"]
        if statement["Effect"] == "Allow"
        for action in statement["Action"]
    ]


EXERCISED = [
    grant
    for name in ("worker.json.tftpl", "ses-sending.json.tftpl")
    for grant in grants(name)
    if grant not in NOT_EXERCISED
]


# ---- the world and one run ------------------------------------------------------------------


@pytest.fixture
def make_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from moto import mock_aws

    authorize_resources(monkeypatch)
    with mock_aws():

        def make(templates: Templates | None = None) -> World:
            return build_world(tmp_path, templates or original_templates())

        yield make


@pytest.fixture
def world(make_world: Any) -> World:
    built: World = make_world()
    return built


@dataclass
class Run:
    ok: bool
    detail: str
    change_id: str = ""


def _lambda_env(world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """What modules/hub/workers.tf sets, and the worker role's credentials."""
    creds = world.workers["acme"]
    for name, value in {
        "CHANGECAST_MODE": "aws",
        "CHANGECAST_CONFIG": f"s3://{world.bucket}/config/config.json",
        "CHANGECAST_SECRETS_ID": world.secret_arn,
        "CHANGECAST_DATABASE_URL": world.index_url,
        "CHANGECAST_DELIVERY__LEDGER_TABLE": "changecast-ledger",
        "CHANGECAST_CUSTOMER": "acme",
        "CHANGECAST_DATA_DIR": str(tmp_path / "lambda"),
        "AWS_ACCESS_KEY_ID": creds.access_key,
        "AWS_SECRET_ACCESS_KEY": creds.secret_key,
        "AWS_SESSION_TOKEN": creds.token,
        "AWS_SECURITY_TOKEN": creds.token,
        "AWS_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)


def _sqs_record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }


def publish_as_portal(world: World) -> str:
    """The portal's writes: a draft, the archived version, the trigger, an audit event."""
    assert world.portal is not None
    store = S3ObjectStore(world.portal.client("s3"), world.bucket)
    change = stored_change(status=ChangeStatus.SUBMITTED, approved_before=False, customers=["acme"])
    archive = ChangeArchive(store)
    archive.put_draft(change, etag=None)
    assert archive.get_draft(ChangeId(change.change_id)).change.change_id == change.change_id
    publish(store, change, DistributionEvent.SUBMITTED, "acme")
    archive.delete_draft(ChangeId(change.change_id))
    store.put(f"audit/2030/01/02/{change.change_id}.json", b"{}")
    return change.change_id


def deliver_as_worker(
    world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> dict[str, Any]:
    """The SQS event source (receive, invoke, delete) and the handler, as the acme worker."""
    sqs = world.workers["acme"].client("sqs")
    url = world.queue_urls["acme"]
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    assert len(messages) == 1, "the trigger's S3 event did not reach the acme queue"
    poison = {"MessageId": "poison", "ReceiptHandle": "poison", "Body": "not an S3 event"}
    event = {"Records": [_sqs_record(m, world.queue_arn("acme")) for m in [*messages, poison]]}
    _lambda_env(world, monkeypatch, tmp_path)
    lambda_handler.current_worker.cache_clear()
    try:
        answer = lambda_handler.handler(event, None)
    finally:
        lambda_handler.current_worker.cache_clear()
    failed = {item["itemIdentifier"] for item in answer["batchItemFailures"]}
    for message in messages:
        if message["MessageId"] not in failed:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    # SQS delivers at least once: the same trigger again must find its recipients sent.
    again = lambda_handler.handler({"Records": event["Records"][:1]}, None)
    lambda_handler.current_worker.cache_clear()
    if again != {"batchItemFailures": []}:
        return again
    return answer


def run_delivery(world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Run:
    """Publish as the portal, deliver as the worker; ``ok`` only if everything happened."""
    with enforced():
        try:
            change_id = publish_as_portal(world)
            answer = deliver_as_worker(world, monkeypatch, tmp_path)
            assert world.portal is not None
            portal = S3ObjectStore(world.portal.client("s3"), world.bucket)
            record = json.loads(portal.get(execution_key(change_id, 1, "acme")).body)
        except Exception as exc:  # any failure of the run is the finding
            return Run(False, f"{type(exc).__name__}: {exc}"[:500])
    if answer != {"batchItemFailures": []}:
        return Run(False, f"handler answered {answer}", change_id)
    account = world.config.customer_mappings["acme"].account_id
    sent = sorted(a for mail in sent_mail(account, REGION) for a in mail.destinations)
    if sent != ACME_APPROVERS:
        return Run(False, f"sent to {sent}", change_id)
    if "submitted" not in json.dumps(record):
        return Run(False, f"execution record {record}", change_id)
    dlq = world.workers["acme"].client("sqs")  # the poison record went to the DLQ (read unenforced)
    bodies = [
        m["Body"] for m in dlq.receive_message(QueueUrl=world.dlq_urls["acme"]).get("Messages", [])
    ]
    if bodies != ["not an S3 event"]:
        return Run(False, f"DLQ holds {bodies}", change_id)
    return Run(True, "", change_id)


# ---- the tests ------------------------------------------------------------------------------


def test_enforcement_is_real_a_denied_call_is_denied_and_the_same_call_works_without_it(
    world: World,
) -> None:
    key = "drafts/some-draft.json"
    world_store = world.workers["acme"].client("s3")
    assert world.portal is not None
    world.portal.client("s3").put_object(Bucket=world.bucket, Key=key, Body=b"{}")
    assert world_store.get_object(Bucket=world.bucket, Key=key)["Body"].read() == b"{}"
    with enforced():
        with pytest.raises(ClientError, match="AccessDenied"):
            world_store.get_object(Bucket=world.bucket, Key=key)
        with pytest.raises(ClientError, match=r"AccessDenied|403"):  # the shim: resource-scoped
            world.workers["acme"].client("dynamodb").describe_table(TableName="other-table")
        with pytest.raises(ClientError, match=r"AccessDenied|403"):
            world.workers["acme"].client("secretsmanager").get_secret_value(
                SecretId=f"arn:aws:secretsmanager:{REGION}:{HUB}:secret:other-AbCdEf"
            )


def test_the_worker_and_the_portal_deliver_under_the_templates(
    world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    run = run_delivery(world, monkeypatch, tmp_path)
    assert run.ok, run.detail
    from moto.sts.models import sts_backends

    account = world.config.customer_mappings["acme"].account_id
    assumed = [
        role
        for role in sts_backends[account]["aws"].assumed_roles
        if role.role_arn == world.ses_role_arn("acme")
        and role.session_name.startswith("changecast-worker")
    ]
    assert assumed and {role.external_id for role in assumed} == {
        world.config.customer_mappings["acme"].ses_role_external_id
    }


@pytest.mark.parametrize("grant", EXERCISED, ids=lambda g: f"{g[0].split('.')[0]}:{g[2]}")
def test_removing_any_grant_the_code_uses_breaks_the_delivery(
    grant: tuple[str, str, str],
    make_world: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    name, sid, action = grant
    templates = original_templates()
    templates[name] = without(templates[name], sid, action)
    run = run_delivery(make_world(templates), monkeypatch, tmp_path)
    assert not run.ok, f"the run still succeeds without {action} in {name} {sid}"


@pytest.mark.parametrize(
    "resource",
    ["${bucket_arn}/config/*", "${bucket_arn}/archive/*", "${bucket_arn}/customers/${code}/*"],
)
def test_removing_any_readable_prefix_breaks_the_delivery(
    resource: str, make_world: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    templates = original_templates()
    templates["worker.json.tftpl"] = without_resource(
        templates["worker.json.tftpl"], "ReadConfigVersionsAndOwnTriggers", resource
    )
    assert not run_delivery(make_world(templates), monkeypatch, tmp_path).ok


def test_grants_moto_cannot_exercise_are_still_granted() -> None:
    for grant in NOT_EXERCISED:
        assert grant in grants(grant[0]), grant


# ---- isolation between customers ------------------------------------------------------------


def isolation_violations(world: World) -> list[str]:
    """What the acme worker can do to globex (or outside its own prefixes): should be nothing."""
    globex_trigger = "customers/globex/some-change-v1-submitted.json"
    assert world.portal is not None
    world.portal.client("s3").put_object(Bucket=world.bucket, Key=globex_trigger, Body=b"{}")
    worker = world.workers["acme"]
    probes: dict[str, Any] = {
        "read customers/globex/": lambda: worker.client("s3").get_object(
            Bucket=world.bucket, Key=globex_trigger
        ),
        "assume globex's SES role": lambda: worker.client("sts").assume_role(
            RoleArn=world.ses_role_arn("globex"),
            RoleSessionName="probe",
            ExternalId=world.config.customer_mappings["globex"].ses_role_external_id,
        ),
        "receive from globex's queue": lambda: worker.client("sqs").receive_message(
            QueueUrl=world.queue_urls["globex"]
        ),
        "write globex's execution record": lambda: worker.client("s3").put_object(
            Bucket=world.bucket, Key="executions/x/v1/globex.json", Body=b"{}"
        ),
        "write archive/": lambda: worker.client("s3").put_object(
            Bucket=world.bucket, Key="archive/latest/x.json", Body=b"{}"
        ),
    }
    found = []
    with enforced():
        for name, probe in probes.items():
            try:
                probe()
            except ClientError as exc:
                if "AccessDenied" not in str(exc) and "403" not in str(exc):
                    raise
            else:
                found.append(name)
    return found


def test_the_worker_cannot_touch_another_customer(world: World) -> None:
    assert isolation_violations(world) == []


WIDENED = {
    "s3 customers/*": ('"${bucket_arn}/customers/${code}/*"', '"${bucket_arn}/customers/*"'),
    "sts any changecast-ses role": ('"${ses_role_arn}"', '"arn:aws:iam::*:role/changecast-ses"'),
    "sqs any queue": ('"${queue_arn}"', '"arn:aws:sqs:*:*:changecast-*"'),
    "executions/*": ('"${bucket_arn}/executions/*/${code}.json"', '"${bucket_arn}/executions/*"'),
    "s3 whole bucket": ('"${bucket_arn}/archive/*"', '"${bucket_arn}/*"'),
}


@pytest.mark.parametrize("widening", sorted(WIDENED))
def test_widening_a_worker_grant_is_caught(widening: str, make_world: Any) -> None:
    old, new = WIDENED[widening]
    templates = original_templates()
    assert old in templates["worker.json.tftpl"]
    templates["worker.json.tftpl"] = templates["worker.json.tftpl"].replace(old, new)
    assert isolation_violations(make_world(templates)) != []


# ---- what moto does not evaluate: read from the rendered documents --------------------------


def test_each_ses_role_trusts_only_its_own_worker_with_its_external_id(world: World) -> None:
    for code, mapping in world.config.customer_mappings.items():
        trust = world.documents[f"ses-sending-trust:{code}"]
        (statement,) = trust["Statement"]
        assert statement["Principal"] == {"AWS": world.worker_roles[code]}
        assert statement["Action"] == "sts:AssumeRole"
        assert statement["Condition"] == {
            "StringEquals": {"sts:ExternalId": mapping.ses_role_external_id}
        }


def test_ledger_items_are_limited_to_the_customers_own_partition(world: World) -> None:
    (ledger,) = [
        s for s in world.documents["worker:acme"]["Statement"] if s["Sid"] == "OwnLedgerItems"
    ]
    patterns = ledger["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
    own = LedgerKey(
        DeliveryKey("acme", "c-1", 1, DistributionEvent.SUBMITTED), Channel.EMAIL, "a@x.com"
    )
    other = LedgerKey(
        DeliveryKey("acmecorp", "c-1", 1, DistributionEvent.SUBMITTED), Channel.EMAIL, "a@x.com"
    )
    assert any(fnmatch.fnmatchcase(own.partition, p) for p in patterns)
    assert not any(fnmatch.fnmatchcase(other.partition, p) for p in patterns)


def test_the_portal_writes_only_its_prefixes(world: World) -> None:
    assert world.portal is not None
    s3 = world.portal.client("s3")
    with enforced():
        for key in ("executions/x/v1/acme.json", "config/config.json"):
            with pytest.raises(ClientError, match="AccessDenied"):
                s3.put_object(Bucket=world.bucket, Key=key, Body=b"{}")
        s3.get_object(Bucket=world.bucket, Key="config/config.json")
        secrets = world.portal.client("secretsmanager")
        assert json.loads(secrets.get_secret_value(SecretId=world.secret_arn)["SecretString"])


def test_the_rendered_bucket_policy_refuses_plain_http() -> None:
    policy = json.loads(render("bucket.json.tftpl", {"bucket_arn": "arn:aws:s3:::b"}))
    (statement,) = policy["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}

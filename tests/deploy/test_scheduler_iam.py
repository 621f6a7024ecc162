"""The scheduler Lambda under its Terraform role, on moto with IAM enforcement on.

The role is made from deploy/terraform/policies/scheduler.json.tftpl (what modules/hub/
scheduler.tf attaches); the handler cold-starts from the environment Terraform sets and writes
a due reminder's trigger. Removing any grant it uses breaks the tick; the role can do nothing
else a worker or the portal does (read the archive, write executions, assume SES roles).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from changecast.aws.sessions import AwsClients, AwsTarget
from changecast.errors import ChangecastError
from changecast.index.engine import open_index
from changecast.workers import scheduler as scheduler_module
from tests.delivery_support import stored_change
from tests.deploy.iam_world import (
    DB_SECRET_ARN,
    DB_SECRET_UNREAD,
    HUB,
    KMS_KEY_ARN,
    LOGS,
    REGION,
    Creds,
    World,
    _assume,
    _role,
    authorize_resources,
    build_world,
    enforced,
    original_templates,
)
from tests.deploy.terraform_support import render, template_text

ROLE = "changecast-scheduler"
NOT_EXERCISED = {
    ("DatabaseCredentials", "secretsmanager:GetSecretValue"): DB_SECRET_UNREAD,
    ("BucketKey", "kms:Decrypt"): "moto's S3 does not call KMS",
    ("BucketKey", "kms:GenerateDataKey"): "moto's S3 does not call KMS",
    ("OwnLogs", "logs:CreateLogStream"): "the Lambda service writes logs",
    ("OwnLogs", "logs:PutLogEvents"): "the Lambda service writes logs",
}


def policy_text(template: str) -> str:
    return render(
        "scheduler.json.tftpl",
        {
            "bucket_arn": "arn:aws:s3:::changecast-prod-notices",
            "kms_key_arn": KMS_KEY_ARN,
            "secret_arn": "SECRET",
            "db_secret_arn": DB_SECRET_ARN,
            "log_group_arn": f"{LOGS}:log-group:/aws/lambda/{ROLE}",
        },
        text=template,
    )


def scheduler_role(world: World, template: str) -> Creds:
    aws = AwsClients(target=AwsTarget(region=REGION))
    policy = policy_text(template)
    policy = policy.replace("arn:aws:s3:::changecast-prod-notices", world.bucket_arn())
    policy = policy.replace('"SECRET"', json.dumps(world.secret_arn))
    trust = render("lambda-trust.json.tftpl", {"account_id": HUB})
    arn = _role(aws.client("iam"), ROLE, trust, policy)
    return _assume(aws.client("sts"), arn, "lambda-scheduler")


@pytest.fixture
def make_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], World]]:
    from moto import mock_aws

    authorize_resources(monkeypatch)
    with mock_aws():
        yield lambda: build_world(tmp_path, original_templates())


def due_change(world: World) -> str:
    """An approved change of the first customer whose window opens in two hours (real clock)."""
    code = sorted(world.config.customer_mappings)[0]
    soon = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(hours=2)
    change = stored_change(
        customers=[code],
        start=f"{soon:%Y-%m-%dT%H:%M}",
        end=f"{soon + timedelta(hours=1):%Y-%m-%dT%H:%M}",
        timezone="UTC",
    )
    index = open_index(world.index_url)
    try:
        index.upsert(change, archived=True)
    finally:
        index.close()
    return f"customers/{code}/{change.change_id}-v1-reminder.json"


def tick_as_scheduler(
    world: World, creds: Creds, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> dict[str, int]:
    for name, value in {
        "CHANGECAST_MODE": "aws",
        "CHANGECAST_CONFIG": f"s3://{world.bucket}/config/config.json",
        "CHANGECAST_SECRETS_ID": world.secret_arn,
        "CHANGECAST_DATABASE_URL": world.index_url,
        "CHANGECAST_DATA_DIR": str(tmp_path / "lambda"),
        "AWS_ACCESS_KEY_ID": creds.access_key,
        "AWS_SECRET_ACCESS_KEY": creds.secret_key,
        "AWS_SESSION_TOKEN": creds.token,
        "AWS_SECURITY_TOKEN": creds.token,
        "AWS_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    scheduler_module.current_scheduler.cache_clear()
    try:
        with enforced():
            return scheduler_module.handler({"source": "changecast.scheduler"}, None)
    finally:
        scheduler_module.current_scheduler.cache_clear()


def keys(world: World) -> list[str]:
    s3 = AwsClients(target=AwsTarget(region=REGION)).client("s3")
    listed = s3.list_objects_v2(Bucket=world.bucket, Prefix="customers/")
    return sorted(item["Key"] for item in listed.get("Contents", []))


def test_the_scheduler_ticks_under_its_template(
    make_world: Callable[[], World], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    world = make_world()
    creds = scheduler_role(world, template_text("scheduler.json.tftpl"))
    key = due_change(world)
    answer = tick_as_scheduler(world, creds, monkeypatch, tmp_path)
    assert answer == {"due": 1, "written": 1, "alreadyPresent": 0, "failed": 0}
    assert keys(world) == [key]
    again = tick_as_scheduler(world, creds, monkeypatch, tmp_path)
    assert again == {"due": 0, "written": 0, "alreadyPresent": 0, "failed": 0}


def grants() -> list[tuple[str, str]]:
    document = json.loads(policy_text(template_text("scheduler.json.tftpl")))
    return [
        (statement["Sid"], action)
        for statement in document["Statement"]
        for action in statement["Action"]
        if (statement["Sid"], action) not in NOT_EXERCISED
    ]


def without(sid: str, action: str) -> str:
    text = template_text("scheduler.json.tftpl")
    document = json.loads(policy_text(text))
    assert any(s["Sid"] == sid for s in document["Statement"])
    placeholder = text.replace("${", "\0")  # keep the placeholders through the JSON round trip
    parsed: dict[str, Any] = json.loads(placeholder.replace("\0", "${"))
    for statement in parsed["Statement"]:
        if statement["Sid"] == sid:
            statement["Action"] = [a for a in statement["Action"] if a != action] or [
                "s3:GetObjectTagging"
            ]
    return json.dumps(parsed)


@pytest.mark.parametrize(("sid", "action"), grants(), ids=str)
def test_removing_any_grant_the_tick_uses_breaks_it(
    sid: str,
    action: str,
    make_world: Callable[[], World],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    world = make_world()
    creds = scheduler_role(world, without(sid, action))
    due_change(world)
    try:
        answer = tick_as_scheduler(world, creds, monkeypatch, tmp_path)
    except ChangecastError as exc:  # refused, and said so in our error kinds
        broken = exc.message
    else:
        broken = "" if answer["written"] else f"nothing written: {answer}"
    assert broken


def test_the_scheduler_cannot_read_the_archive_send_or_assume(
    make_world: Callable[[], World],
) -> None:
    world = make_world()
    creds = scheduler_role(world, template_text("scheduler.json.tftpl"))
    code = sorted(world.config.customer_mappings)[0]
    probes: dict[str, Callable[[], object]] = {
        "read archive/": lambda: creds.client("s3").get_object(
            Bucket=world.bucket, Key="archive/latest/x.json"
        ),
        "write archive/": lambda: creds.client("s3").put_object(
            Bucket=world.bucket, Key="archive/latest/x.json", Body=b"{}"
        ),
        "write executions/": lambda: creds.client("s3").put_object(
            Bucket=world.bucket, Key=f"executions/x/v1/{code}.json", Body=b"{}"
        ),
        "read a trigger": lambda: creds.client("s3").get_object(
            Bucket=world.bucket, Key=f"customers/{code}/x.json"
        ),
        "assume an SES role": lambda: creds.client("sts").assume_role(
            RoleArn=world.ses_role_arn(code), RoleSessionName="probe"
        ),
        "send to a queue": lambda: creds.client("sqs").send_message(
            QueueUrl=world.queue_urls[code], MessageBody="x"
        ),
    }
    allowed = []
    with enforced():
        for name, probe in probes.items():
            try:
                probe()
            except Exception as exc:
                if "AccessDenied" not in str(exc) and "not authorized" not in str(exc):
                    allowed.append(f"{name}: {exc}")
            else:
                allowed.append(name)
    assert allowed == []

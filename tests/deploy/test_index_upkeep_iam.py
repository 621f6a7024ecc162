"""The index upkeep Lambda under its Terraform role and schedule, on moto with IAM enforcement on.

The role is made from deploy/terraform/policies/maintenance.json.tftpl (what modules/hub/
maintenance.tf attaches); the handler cold-starts from the environment Terraform sets, reads the
database URL from the runtime secret and runs ``changecast index optimize`` on the index.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from changecast.aws.sessions import AwsClients, AwsTarget
from changecast.errors import ChangecastError
from changecast.workers import maintenance
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
from tests.deploy.terraform_support import TERRAFORM, parse_tf, render, template_text, unquote

ROLE = "changecast-index-upkeep"
NOT_EXERCISED = {
    ("DatabaseCredentials", "secretsmanager:GetSecretValue"): DB_SECRET_UNREAD,
    ("SecretKey", "kms:Decrypt"): "moto's Secrets Manager does not call KMS",
    ("OwnLogs", "logs:CreateLogStream"): "the Lambda service writes logs",
    ("OwnLogs", "logs:PutLogEvents"): "the Lambda service writes logs",
}


def policy_text(template: str) -> str:
    return render(
        "maintenance.json.tftpl",
        {
            "kms_key_arn": KMS_KEY_ARN,
            "secret_arn": "SECRET",
            "db_secret_arn": DB_SECRET_ARN,
            "log_group_arn": f"{LOGS}:log-group:/aws/lambda/{ROLE}",
        },
        text=template,
    )


def upkeep_role(world: World, template: str) -> Creds:
    aws = AwsClients(target=AwsTarget(region=REGION))
    policy = policy_text(template).replace('"SECRET"', json.dumps(world.secret_arn))
    trust = render("lambda-trust.json.tftpl", {"account_id": HUB})
    arn = _role(aws.client("iam"), ROLE, trust, policy)
    return _assume(aws.client("sts"), arn, "lambda-index-upkeep")


@pytest.fixture
def make_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], World]]:
    from moto import mock_aws

    authorize_resources(monkeypatch)
    with mock_aws():
        yield lambda: build_world(tmp_path, original_templates())


def run_upkeep(
    world: World, creds: Creds, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> dict[str, Any]:
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
    with enforced():
        return maintenance.handler({"source": "changecast.index-upkeep"}, None)


def analysed(index_url: str) -> bool:
    """SQLite: ``ANALYZE`` (what the upkeep runs) has written planner statistics."""
    with sqlite3.connect(index_url.removeprefix("sqlite:///")) as db:
        found = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").fetchone()
    return found is not None


def test_the_upkeep_runs_on_the_index_the_secret_names(
    make_world: Callable[[], World], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    world = make_world()
    creds = upkeep_role(world, template_text("maintenance.json.tftpl"))
    assert not analysed(world.index_url)
    answer = run_upkeep(world, creds, monkeypatch, tmp_path)
    assert answer["database"] == world.index_url
    assert answer["seconds"] >= 0
    assert analysed(world.index_url)


def grants() -> list[tuple[str, str]]:
    document = json.loads(policy_text(template_text("maintenance.json.tftpl")))
    return [
        (statement["Sid"], action)
        for statement in document["Statement"]
        for action in statement["Action"]
        if (statement["Sid"], action) not in NOT_EXERCISED
    ]


def without(sid: str, action: str) -> str:
    text = template_text("maintenance.json.tftpl")
    placeholder = text.replace("${", "\0")  # keep the placeholders through the JSON round trip
    parsed: dict[str, Any] = json.loads(placeholder.replace("\0", "${"))
    assert any(s["Sid"] == sid for s in parsed["Statement"])
    for statement in parsed["Statement"]:
        if statement["Sid"] == sid:
            statement["Action"] = [a for a in statement["Action"] if a != action] or [
                "s3:GetObjectTagging"
            ]
    return json.dumps(parsed)


@pytest.mark.parametrize(("sid", "action"), grants(), ids=str)
def test_removing_any_grant_the_upkeep_uses_breaks_it(
    sid: str,
    action: str,
    make_world: Callable[[], World],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    world = make_world()
    creds = upkeep_role(world, without(sid, action))
    with pytest.raises(ChangecastError):
        run_upkeep(world, creds, monkeypatch, tmp_path)
    assert not analysed(world.index_url)


def test_the_schedule_invokes_the_upkeep_handler_daily_and_only_it() -> None:
    parsed = parse_tf(TERRAFORM / "modules/hub/maintenance.tf")
    resources = {
        (unquote(kind), unquote(name)): body
        for block in parsed["resource"]
        for kind, named in block.items()
        for name, body in named.items()
    }
    function = resources[("aws_lambda_function", "maintenance")]
    module, _, name = unquote(function["handler"]).rpartition(".")
    assert module == maintenance.__name__ and name == "handler"
    assert callable(getattr(maintenance, name))
    schedule = resources[("aws_scheduler_schedule", "index_upkeep")]
    target = schedule["target"][0]
    assert unquote(target["arn"]) == "${aws_lambda_function.maintenance.arn}"
    assert unquote(target["role_arn"]) == "${aws_iam_role.maintenance_invoke.arn}"
    variables = {
        unquote(name): body
        for block in parse_tf(TERRAFORM / "modules/hub/variables.tf")["variable"]
        for name, body in block.items()
    }
    assert unquote(variables["index_upkeep_schedule"]["default"]).startswith("cron(")
    assert unquote(schedule["kms_key_arn"]) == "${aws_kms_key.hub.arn}"
    invoke = json.loads(
        render("maintenance-invoke.json.tftpl", {"function_arn": "FN", "kms_key_arn": "KEY"})
    )
    actions = [s["Action"] for s in invoke["Statement"]]
    assert actions == [["lambda:InvokeFunction"], ["kms:Decrypt"]]
    assert [s["Resource"] for s in invoke["Statement"]] == [["FN"], ["KEY"]]

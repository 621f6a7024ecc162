"""On a real ``local up`` (moto's server): ``ses preflight`` and ``ses domain setup``.

Every demo customer passes preflight (exit 0); one whose sender identity is gone fails (exit 1).
``ses domain setup`` does what moto can and names, in one line, the SESv2 calls moto lacks,
never moto's HTML error page.
"""

from __future__ import annotations

import json

import boto3

from changecast.local_runtime import read_running
from tests.e2e.conftest import LocalUp

CHECKS = [
    "sender_verified",
    "dkim_verified",
    "sending_enabled",
    "production_access",
    "daily_quota",
    "send_rate",
]


def customer_ses(local_up: LocalUp, code: str) -> object:
    """SES v1 in the customer's own (moto) account, through its role."""
    config = json.loads((local_up.data_dir / "config.json").read_text())
    role = config["customer_mappings"][code]["ses_role_arn"]
    creds = local_up.client("sts").assume_role(RoleArn=role, RoleSessionName="test")["Credentials"]
    local = read_running(local_up.data_dir)
    assert local is not None
    return boto3.client(
        "ses",
        endpoint_url=local.aws_endpoint_url,
        region_name=local.region,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )


def test_preflight_and_domain_setup_on_local_up(local_up: LocalUp) -> None:
    local_up.start()
    passed = local_up.cli("ses", "preflight", "--all", "--output", "json")
    customers = passed["customers"]
    assert [c["customer"] for c in customers] == ["acme", "globex", "initech"]
    for customer in customers:
        assert customer["status"] == "ok"
        statuses = {c["check"]: c["status"] for c in customer["data"]["checks"]}
        assert list(statuses) == CHECKS
        assert statuses["sender_verified"] == statuses["dkim_verified"] == "pass"

    setup = local_up.cli("ses", "domain", "setup", "--all", "--output", "json", expect=1)
    for customer in setup["customers"]:
        assert "moto lacks sesv2 PutEmailIdentityMailFromAttributes" in customer["detail"]
        assert "<" not in customer["detail"]
        assert customer["data"]["steps"]  # the configuration set step was done

    config = json.loads((local_up.data_dir / "config.json").read_text())
    sender = config["email_config"]["sender_address"]
    ses = customer_ses(local_up, "initech")
    for identity in (sender, config["email_config"]["domain"]):
        ses.delete_identity(Identity=identity)  # type: ignore[attr-defined]
    failed = local_up.cli("ses", "preflight", "--all", "--output", "json", expect=1)
    by_code = {c["customer"]: c for c in failed["customers"]}
    assert [code for code, c in by_code.items() if c["status"] == "failed"] == ["initech"]
    assert f"sender {sender} is not verified" in by_code["initech"]["detail"]
    assert local_up.stop() == 0

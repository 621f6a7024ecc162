"""``ses preflight`` on moto: each customer's checks, exit 0 when all pass and 1 when one fails."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.ses_harness import World, moto_world

DOMAIN = "example.com"


@pytest.fixture
def world(aws_env: None, tmp_path: Path) -> Iterator[World]:
    yield from moto_world(tmp_path)


def verify_domain(world: World, code: str) -> None:
    world.session(code).client("sesv2").create_email_identity(
        EmailIdentity=DOMAIN, DkimSigningAttributes={"NextSigningKeyLength": "RSA_2048_BIT"}
    )


def checks(customer: dict[str, object]) -> dict[str, str]:
    data = customer["data"]
    assert isinstance(data, dict)
    return {c["check"]: c["status"] for c in data["checks"]}


def test_every_customer_passing_exits_0_with_each_check(world: World) -> None:
    for code in world.codes:
        verify_domain(world, code)
    done = world.invoke("ses", "preflight", "--all", "-o", "json")
    assert done.code == 0, done.stderr
    customers = done.json()["customers"]
    assert [c["customer"] for c in customers] == list(world.codes)
    for customer in customers:
        found = checks(customer)
        assert list(found) == [
            "sender_verified",
            "dkim_verified",
            "sending_enabled",
            "production_access",
            "daily_quota",
            "send_rate",
        ]
        assert found["sender_verified"] == found["dkim_verified"] == "pass"
        assert found["send_rate"] == "pass"  # SES v1 GetSendQuota: moto answers 1/s
        # moto lacks SESv2 GetAccount and v1 GetAccountSendingEnabled: warnings, not passes
        assert found["sending_enabled"] == found["production_access"] == "warn"


def test_a_customer_with_an_unverified_sender_fails_and_exits_1(world: World) -> None:
    verify_domain(world, "acme")
    verify_domain(world, "globex")
    done = world.invoke("ses", "preflight", "--all", "-o", "json")
    assert done.code == 1
    by_code = {c["customer"]: c for c in done.json()["customers"]}
    assert [code for code, c in by_code.items() if c["status"] == "failed"] == ["initech"]
    assert checks(by_code["initech"])["sender_verified"] == "fail"
    assert "sender change-notices@example.com is not verified" in str(by_code["initech"]["detail"])

    text = world.invoke("ses", "preflight", "-c", "initech")
    assert text.code == 1
    assert "sender_verified" in text.stdout
    assert "GetAccount" in text.stdout  # the call moto lacks, named


def test_an_unknown_event_is_a_usage_error(world: World) -> None:
    assert world.invoke("ses", "preflight", "--all", "--event", "nudge").code == 2


def test_change_submit_refuses_a_failing_customer_until_overridden(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    import boto3

    from tests.builders import change_body

    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="changecast-test")
    verify_domain(world, "acme")  # globex has no verified sender
    monkeypatch.setenv("CHANGECAST_ACTOR", "alice@ccoe.example.com")
    body = tmp_path / "change.json"
    body.write_text(json.dumps(change_body(customers=["acme", "globex"])))
    cid = world.invoke("change", "new", "--from-file", str(body), "-o", "json").json()["changeId"]

    refused = world.invoke("change", "submit", cid)
    assert refused.code == 1
    assert "refused by gate(s) preflight" in str(refused.exception)
    findings = getattr(refused.exception, "findings", [])
    assert [(f.gate, f.customer_code) for f in findings] == [("preflight", "globex")]
    assert "sender change-notices@example.com is not verified" in findings[0].message

    done = world.invoke(
        "change", "submit", cid, "--override", "preflight=globex is told by phone", "-o", "json"
    )
    assert done.code == 0, done.stderr
    shown = world.invoke("change", "show", cid, "-o", "json").json()
    assert [(o["gate"], o["reason"]) for o in shown["overrides"]] == [
        ("preflight", "globex is told by phone")
    ]

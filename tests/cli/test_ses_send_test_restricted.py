"""``ses send-test`` honours each customer's ``restricted_recipients`` (on moto)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.ses_harness import World, moto_world


@pytest.fixture
def world(aws_env: None, tmp_path: Path) -> Iterator[World]:
    yield from moto_world(tmp_path)


def restrict(world: World, code: str, **fields: object) -> None:
    config = json.loads(world.config_path.read_text())
    config["customer_mappings"][code].update(fields)
    world.config_path.write_text(json.dumps(config), encoding="utf-8")


def send(world: World, to: str, *selection: str) -> tuple[int, str, object]:
    outcome = world.invoke(
        "ses", "send-test", "--topic", "aws-announce", "--to", to, *selection, "-o", "json"
    )
    return outcome.code, outcome.stdout, outcome.exception


def test_send_test_refuses_an_address_outside_restricted_recipients(world: World) -> None:
    assert world.invoke("ses", "topics", "apply", "--all").code == 0
    for customer in world.codes:
        world.session(customer).client("sesv2").create_email_identity(EmailIdentity="example.com")
    restrict(world, "acme", restricted_recipients=["Ops@Example.com"])
    restrict(world, "initech", environment="staging")  # non-production, no list: mails nobody

    code, stdout, error = send(world, "stranger@example.com", "--all")
    assert code == 2
    message = str(error)
    assert "\n" not in message
    assert message.startswith("stranger@example.com is not in restricted_recipients of acme, ")
    assert "initech" in message and "globex" not in message
    assert "nothing was sent" in message
    assert stdout == ""  # refused before any customer ran

    code, stdout, error = send(world, "ops@example.com", "-c", "acme", "-c", "globex")
    assert code == 0, error
    assert [c["data"]["sent"] for c in json.loads(stdout)["customers"]] == [True, True]

    code, _, error = send(world, "ops@example.com", "-c", "initech")
    assert code == 2
    assert "restricted_recipients of initech" in str(error)

"""``ses domain setup`` on plain moto (no stand-ins): what moto can do is done, and one line
names the SESv2 calls moto lacks instead of failing on the first with moto's error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.ses_harness import World, moto_world


@pytest.fixture
def world(aws_env: None, tmp_path: Path) -> Iterator[World]:
    yield from moto_world(tmp_path)


def test_setup_does_what_moto_can_and_names_the_calls_it_lacks(world: World) -> None:
    done = world.invoke("ses", "domain", "setup", "-c", "acme", "-o", "json")
    assert done.code == 1
    [customer] = done.json()["customers"]
    assert customer["detail"] == (
        "example.com: 2 of 4 steps done; moto lacks sesv2 PutEmailIdentityMailFromAttributes, "
        "PutEmailIdentityConfigurationSetAttributes, so these need real SES: set MAIL FROM to "
        "bounce.example.com; use configuration set changecast-acme for example.com"
    )
    assert customer["data"]["steps"] == [
        "create identity example.com with Easy DKIM (RSA 2048)",
        "ensure configuration set changecast-acme (TLS required, reputation)",
    ]
    sesv2 = world.session("acme").client("sesv2")
    assert sesv2.get_email_identity(EmailIdentity="example.com")["IdentityType"] == "DOMAIN"
    config = sesv2.get_configuration_set(ConfigurationSetName="changecast-acme")
    assert config["DeliveryOptions"]["TlsPolicy"] == "REQUIRE"

    again = world.invoke("ses", "domain", "setup", "-c", "acme", "-o", "json")
    assert again.code == 1
    assert again.json()["customers"][0]["detail"].startswith("example.com: 1 of 3 steps done;")

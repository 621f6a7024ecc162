"""``ses domain setup|dns|verify``; and the domain service on a fake SES.

moto lacks PutEmailIdentityMailFromAttributes and PutEmailIdentityConfigurationSetAttributes,
so the CLI test answers those two at the botocore layer, and the service is also tested
against ``FakeSendingDomain`` (tests/fakes/ses.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from changecast.contacts.account_setup import setup_domain
from changecast.contacts.domain import DomainSpec, dns_records
from tests.cli.ses_harness import World, moto_world
from tests.fakes.botocore_double import BotocoreDouble
from tests.fakes.ses import FakeSendingDomain


@pytest.fixture
def world(aws_env: None, tmp_path: Path) -> Iterator[World]:
    yield from moto_world(tmp_path)


def test_setup_is_idempotent_and_verify_passes_once_dns_is_in() -> None:
    fake = FakeSendingDomain()
    spec = DomainSpec(domain="example.com", region="eu-west-1")
    planned = setup_domain(port=fake, spec=spec, dry_run=True)
    assert len(planned) == 4
    assert fake.calls == []
    setup_domain(port=fake, spec=spec, dry_run=False)
    assert fake.calls == [
        "CreateEmailIdentity example.com",
        "PutEmailIdentityMailFromAttributes example.com",
        "EnsureConfigurationSet changecast",
        "PutEmailIdentityConfigurationSetAttributes example.com",
    ]
    assert fake.configuration_sets["changecast"]["TlsPolicy"] == "REQUIRE"
    assert setup_domain(port=fake, spec=spec, dry_run=False) == [
        "ensure configuration set changecast (TLS required, reputation)"
    ]
    status = fake.get_domain_status("example.com")
    assert "DKIM is PENDING" in status.problems(spec)
    fake.verify("example.com")
    assert fake.get_domain_status("example.com").problems(spec) == []


def test_dns_records_cover_dkim_mail_from_and_dmarc() -> None:
    spec = DomainSpec(domain="example.com", mail_from_subdomain="mail", region="eu-west-1")
    records = dns_records(spec, ("t1", "t2", "t3"))
    assert [(r.type, r.name) for r in records] == [
        ("CNAME", "t1._domainkey.example.com"),
        ("CNAME", "t2._domainkey.example.com"),
        ("CNAME", "t3._domainkey.example.com"),
        ("MX", "mail.example.com"),
        ("TXT", "mail.example.com"),
        ("TXT", "_dmarc.example.com"),
    ]
    assert records[3].value == "10 feedback-smtp.eu-west-1.amazonses.com"
    assert records[0].value == "t1.dkim.amazonses.com"


def test_cli_setup_dns_verify_on_moto(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    double = BotocoreDouble(
        "sesv2",
        {
            "PutEmailIdentityMailFromAttributes": lambda _params: {},
            "PutEmailIdentityConfigurationSetAttributes": lambda _params: {},
        },
    )
    double.install(monkeypatch)
    before = world.invoke("ses", "domain", "dns", "-c", "acme", "-o", "json")
    assert before.code == 1  # no identity yet
    dry = world.invoke("ses", "domain", "setup", "-c", "acme", "--dry-run", "-o", "json")
    assert dry.code == 0
    assert double.calls == []
    done = world.invoke("ses", "domain", "setup", "--all", "--mail-from-subdomain", "mail")
    assert done.code == 0, done.stderr
    mail_from = [p for name, p in double.calls if name == "PutEmailIdentityMailFromAttributes"]
    assert {p["MailFromDomain"] for p in mail_from} == {"mail.example.com"}
    assert len(mail_from) == 3
    config = (
        world.session("acme")
        .client("sesv2")
        .get_configuration_set(ConfigurationSetName="changecast")
    )
    assert config["DeliveryOptions"]["TlsPolicy"] == "REQUIRE"
    assert config["ReputationOptions"]["ReputationMetricsEnabled"] is True

    dns = world.invoke(
        "ses", "domain", "dns", "-c", "acme", "--mail-from-subdomain", "mail", "-o", "json"
    )
    assert dns.code == 0
    types = [r["type"] for r in dns.json()["customers"][0]["data"]["records"]]
    assert types[-3:] == ["MX", "TXT", "TXT"]  # moto issues no DKIM tokens
    verify = world.invoke("ses", "domain", "verify", "-c", "acme", "-o", "json")
    assert verify.code == 1  # moto never verifies the domain
    assert "not verified for sending" in verify.json()["customers"][0]["detail"]


def test_bad_domain_option_is_a_usage_error(world: World) -> None:
    assert world.invoke("ses", "domain", "dns", "-c", "acme", "--domain", "not a domain").code == 2
    assert (
        world.invoke("ses", "domain", "setup", "-c", "acme", "--mail-from-subdomain", "a.b").code
        == 2
    )

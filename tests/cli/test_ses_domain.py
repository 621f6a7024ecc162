"""``ses domain setup|dns|verify``; and the domain service on a fake SES.

moto lacks PutEmailIdentityMailFromAttributes and PutEmailIdentityConfigurationSetAttributes,
so the CLI test answers those two at the botocore layer, and the service is also tested
against ``FakeSendingDomain`` (tests/fakes/ses.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from changecast.contacts.account_setup import RepointRefusedError, setup_domain
from changecast.contacts.domain import DomainSpec, DomainStatus, EventDestination, dns_records
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
        .get_configuration_set(ConfigurationSetName="changecast-acme")
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


TOPIC = "arn:aws:sns:eu-west-1:111111111111:changecast-ses-events"


def test_an_identity_is_not_moved_off_a_set_that_publishes_events_without_force() -> None:
    fake = FakeSendingDomain()
    fake.identities["example.com"] = DomainStatus(domain="example.com", configuration_set="old")
    fake.destinations["old"] = [EventDestination(name="events", sns_topic_arn=TOPIC)]
    spec = DomainSpec(domain="example.com", configuration_set="changecast-acme")
    for dry_run in (True, False):
        with pytest.raises(RepointRefusedError, match=r"uses configuration set old, which") as e:
            setup_domain(port=fake, spec=spec, dry_run=dry_run)
        assert TOPIC in str(e.value)
        assert "--force" in str(e.value)
    assert fake.calls == []

    steps = setup_domain(port=fake, spec=spec, dry_run=False, force=True)
    assert "use configuration set changecast-acme for example.com (re-point" in steps[-1]
    assert fake.get_domain_status("example.com").configuration_set == "changecast-acme"


def test_a_set_without_an_enabled_event_destination_is_left_without_force() -> None:
    fake = FakeSendingDomain()
    fake.identities["example.com"] = DomainStatus(domain="example.com", configuration_set="old")
    fake.destinations["old"] = [EventDestination(name="off", enabled=False, sns_topic_arn=TOPIC)]
    spec = DomainSpec(domain="example.com", configuration_set="changecast-acme")
    setup_domain(port=fake, spec=spec, dry_run=False)
    assert fake.get_domain_status("example.com").configuration_set == "changecast-acme"


def test_cli_setup_refuses_to_repoint_on_moto_and_force_does_it(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = world.session("acme")
    account.client("sesv2").create_configuration_set(ConfigurationSetName="legacy")
    account.client("ses").create_configuration_set_event_destination(
        ConfigurationSetName="legacy",
        EventDestination={
            "Name": "events",
            "Enabled": True,
            "MatchingEventTypes": ["bounce", "delivery"],
            "SNSDestination": {"TopicARN": TOPIC},
        },
    )
    account.client("sesv2").create_email_identity(
        EmailIdentity="example.com", ConfigurationSetName="legacy"
    )
    double = BotocoreDouble(
        "sesv2",
        {
            "PutEmailIdentityMailFromAttributes": lambda _params: {},
            "PutEmailIdentityConfigurationSetAttributes": lambda _params: {},
        },
    )
    double.install(monkeypatch)
    for extra in ([], ["--dry-run"]):
        refused = world.invoke("ses", "domain", "setup", "-c", "acme", *extra, "-o", "json")
        assert refused.code == 1
        detail = refused.json()["customers"][0]["detail"]
        assert "example.com uses configuration set legacy, which publishes events to" in detail
        assert TOPIC in detail
        assert "pass --force" in detail
    assert double.calls == []

    forced = world.invoke("ses", "domain", "setup", "-c", "acme", "--force", "-o", "json")
    assert forced.code == 0, forced.stderr
    moved = [p for n, p in double.calls if n == "PutEmailIdentityConfigurationSetAttributes"]
    assert moved == [{"EmailIdentity": "example.com", "ConfigurationSetName": "changecast-acme"}]


def test_the_configuration_set_name_comes_from_config_json_or_matches_terraform() -> None:
    from changecast.customers.models import CustomerMapping

    base = {
        "customer_code": "acme",
        "customer_name": "Acme",
        "ses_role_arn": "arn:aws:iam::111111111111:role/changecast-ses",
    }
    assert CustomerMapping.model_validate(base).configuration_set_name == "changecast-acme"
    named = CustomerMapping.model_validate({**base, "ses_configuration_set": "acme-mail"})
    assert named.configuration_set_name == "acme-mail"
    with pytest.raises(ValueError, match="ses_configuration_set"):
        CustomerMapping.model_validate({**base, "ses_configuration_set": "no spaces"})

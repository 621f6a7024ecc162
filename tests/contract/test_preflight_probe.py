"""The SesAccountProbe contract, run against the in-memory fake and SES on moto.

moto lacks SESv2 GetAccount and SES v1 GetAccountSendingEnabled, so there the sandbox and
sending facts are unknown, each with the reason naming the missing call.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import boto3
import pytest

from changecast.aws.ses_preflight import SesPreflightProbe
from changecast.delivery.ports import SesAccountProbe
from changecast.delivery.preflight import SUCCESS, CheckName
from tests.fakes.preflight import FakeSesProbe

SENDER = "change-notices@ccoe.example.com"
ORGANIZER = "calendar@ccoe.example.com"
DOMAIN = "ccoe.example.com"


@dataclass
class Port:
    probe: SesAccountProbe
    verify_address: Callable[[str], None]
    verify_domain: Callable[[str], None]
    kind: str


def _fake() -> Port:
    fake = FakeSesProbe()
    return Port(fake, fake.verify_address, fake.verify_domain, "fake")


def _moto() -> Port:
    ses = boto3.client("ses", region_name="us-east-1")
    sesv2 = boto3.client("sesv2", region_name="us-east-1")

    def verify_domain(domain: str) -> None:
        sesv2.create_email_identity(
            EmailIdentity=domain, DkimSigningAttributes={"NextSigningKeyLength": "RSA_2048_BIT"}
        )

    return Port(
        SesPreflightProbe(ses, sesv2),
        lambda address: ses.verify_email_identity(EmailAddress=address),
        verify_domain,
        "moto",
    )


@pytest.fixture(params=["fake", "moto"])
def port(request: pytest.FixtureRequest, aws_env: None) -> Iterator[Port]:
    if request.param == "fake":
        yield _fake()
        return
    from moto import mock_aws

    with mock_aws():
        yield _moto()


def test_a_sender_verified_as_an_address_is_verified_by_itself(port: Port) -> None:
    port.verify_address(SENDER)
    facts = port.probe.account_facts(senders=[SENDER], domain=DOMAIN)
    assert facts.senders is not None
    [sender] = facts.senders
    assert (sender.address, sender.status, sender.verified_by) == (SENDER, SUCCESS, SENDER)


def test_a_sender_is_verified_by_its_verified_domain(port: Port) -> None:
    port.verify_domain(DOMAIN)
    facts = port.probe.account_facts(senders=[SENDER, ORGANIZER], domain=DOMAIN)
    assert facts.senders is not None
    assert [(s.status, s.verified_by) for s in facts.senders] == [(SUCCESS, DOMAIN)] * 2


def test_a_sender_with_no_identity_is_not_started(port: Port) -> None:
    port.verify_address(ORGANIZER)
    facts = port.probe.account_facts(senders=[SENDER, ORGANIZER], domain=DOMAIN)
    assert facts.senders is not None
    assert [(s.address, s.status) for s in facts.senders] == [
        (SENDER, "NotStarted"),
        (ORGANIZER, SUCCESS),
    ]


def test_dkim_is_verified_for_a_domain_identity_and_not_without_one(port: Port) -> None:
    before = port.probe.account_facts(senders=[SENDER], domain=DOMAIN)
    assert before.dkim_status != SUCCESS
    port.verify_domain(DOMAIN)
    after = port.probe.account_facts(senders=[SENDER], domain=DOMAIN)
    assert (after.dkim_enabled, after.dkim_status) == (True, SUCCESS)


def test_unverified_lists_recipients_verified_neither_by_address_nor_domain(port: Port) -> None:
    port.verify_address("ops-lead@acme.example.com")
    port.verify_domain("globex.example.com")
    found = port.probe.unverified(
        ["ops-lead@acme.example.com", "cfo@acme.example.com", "sre@globex.example.com"]
    )
    assert found == ("cfo@acme.example.com",)


def test_unverified_checks_more_than_one_call_of_identities(port: Port) -> None:
    many = [f"user{i}@acme.example.com" for i in range(130)]
    port.verify_address(many[120])
    found = port.probe.unverified(many)
    assert len(found) == 129
    assert many[120] not in found


def test_the_quota_and_rate_are_numbers(port: Port) -> None:
    facts = port.probe.account_facts(senders=[SENDER], domain=DOMAIN)
    assert facts.max_24h is not None and facts.sent_24h is not None
    assert facts.max_24h == -1 or facts.max_24h >= facts.sent_24h >= 0
    assert facts.max_rate is not None and facts.max_rate > 0


def test_every_unknown_fact_says_why(port: Port) -> None:
    facts = port.probe.account_facts(senders=[SENDER], domain=DOMAIN)
    fields = {
        CheckName.SENDING: facts.sending_enabled,
        CheckName.SANDBOX: facts.production_access,
        CheckName.QUOTA: facts.max_24h,
        CheckName.RATE: facts.max_rate,
        CheckName.DKIM: facts.dkim_status,
        CheckName.SENDER: facts.senders,
    }
    for check, value in fields.items():
        if value is None:
            assert facts.why_unknown(check) != "SES did not say", check
    if port.kind == "moto":  # the calls moto lacks, named (never moto's HTML)
        assert "GetAccount" in facts.why_unknown(CheckName.SANDBOX)
        assert "GetAccountSendingEnabled" in facts.why_unknown(CheckName.SENDING)
        assert "<" not in facts.why_unknown(CheckName.SENDING)

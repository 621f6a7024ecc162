"""The MailPort contract, run against the in-memory fake and SESv2 on moto."""

from __future__ import annotations

import email
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import boto3
import pytest

from changecast.aws.ses_mail import SesMailAdapter
from changecast.delivery.ports import MailPort, RecipientRejectedError
from changecast.errors import UpstreamError
from changecast.local.moto_store import sent_mail
from tests.fakes.mail import FakeMail

SENDER = "change-notices@ccoe.example.com"
LIST = "changecast"
TOPIC = "aws-announce"
ACCOUNT = "123456789012"


@dataclass(frozen=True)
class Seen:
    to: frozenset[str]
    raw: bool
    subject: str


@dataclass
class Port:
    mail: MailPort
    outbox: Callable[[], list[Seen]]


def _subject(raw: str) -> str:
    return str(email.message_from_string(raw)["Subject"])


def _fake() -> Port:
    fake = FakeMail(verified={SENDER})
    return Port(
        mail=fake,
        outbox=lambda: [
            Seen(
                to=frozenset({m.to}),
                raw=m.kind == "raw",
                subject=_subject(m.raw.decode()) if m.kind == "raw" else m.subject,
            )
            for m in fake.sent
        ],
    )


def _moto() -> Port:
    client = boto3.client("sesv2", region_name="us-east-1")
    boto3.client("ses", region_name="us-east-1").verify_email_identity(EmailAddress=SENDER)
    client.create_contact_list(
        ContactListName=LIST,
        Topics=[
            {
                "TopicName": TOPIC,
                "DisplayName": "Announcements",
                "Description": "",
                "DefaultSubscriptionStatus": "OPT_IN",
            }
        ],
    )
    return Port(
        mail=SesMailAdapter(client),
        outbox=lambda: [
            Seen(
                to=frozenset(m.destinations),
                raw=m.raw is not None,
                subject=_subject(m.raw) if m.raw is not None else str(m.subject),
            )
            for m in sent_mail(ACCOUNT, "us-east-1")
        ],
    )


@pytest.fixture(params=["fake", "moto"])
def port(request: pytest.FixtureRequest, aws_env: None) -> Iterator[Port]:
    if request.param == "fake":
        yield _fake()
        return
    from moto import mock_aws

    with mock_aws():
        yield _moto()


def simple(port: Port, to: str, sender: str = SENDER) -> str:
    return port.mail.send_email(
        sender=sender,
        to=to,
        subject="[Approved] Rotate certificates",
        html="<p>hi</p>",
        text="hi",
        list_name=LIST,
        topic=TOPIC,
    )


def raw_invite(to: str) -> bytes:
    return (
        f"From: {SENDER}\r\nTo: {to}\r\nSubject: Invitation: TLS window\r\nMIME-Version: 1.0\r\n"
        'Content-Type: text/calendar; charset="utf-8"; method=REQUEST\r\n\r\n'
        "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n"
    ).encode()


def test_each_simple_send_is_one_message_to_one_recipient_with_its_own_id(port: Port) -> None:
    first = simple(port, "ops-lead@acme.example.com")
    second = simple(port, "sre-oncall@acme.example.com")
    assert first and second and first != second
    assert port.outbox() == [
        Seen(frozenset({"ops-lead@acme.example.com"}), False, "[Approved] Rotate certificates"),
        Seen(frozenset({"sre-oncall@acme.example.com"}), False, "[Approved] Rotate certificates"),
    ]


def test_a_raw_send_delivers_the_mime_message_as_given(port: Port) -> None:
    to = "ops-lead@acme.example.com"
    message_id = port.mail.send_raw(
        sender=SENDER, to=to, raw=raw_invite(to), list_name=LIST, topic="aws-announce"
    )
    assert message_id
    assert port.outbox() == [Seen(frozenset({to}), True, "Invitation: TLS window")]


def test_an_unverified_sender_is_a_permanent_account_wide_error_and_nothing_is_sent(
    port: Port,
) -> None:
    """Every recipient would fail alike, so the delivery fails at once (not one by one)."""
    with pytest.raises(UpstreamError) as refused:
        simple(port, "ops-lead@acme.example.com", sender="someone@unverified.example.com")
    assert not refused.value.retryable
    assert refused.value.context.get("permanent") == "sender_unverified"
    assert "someone@unverified.example.com" in refused.value.message
    assert port.outbox() == []


def test_an_invalid_address_is_rejected(port: Port) -> None:
    with pytest.raises(RecipientRejectedError):
        simple(port, "not-an-address")
    assert port.outbox() == []


def test_the_max_send_rate_is_a_positive_number_or_unknown(port: Port) -> None:
    rate = port.mail.max_send_rate()
    assert rate is None or rate > 0

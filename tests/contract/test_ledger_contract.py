"""The delivery Ledger contract, run against the in-memory fake and DynamoDB on moto."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from changecast.aws.dynamodb import DynamoDbLedger, create_ledger_table
from changecast.delivery.ledger import (
    Channel,
    ClaimOutcome,
    DeliveryKey,
    LedgerKey,
    LedgerState,
)
from changecast.delivery.ports import Ledger
from changecast.distribution.models import DistributionEvent
from tests.fakes.ledger import MemoryLedger

T0 = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)
DELIVERY = DeliveryKey(
    "acme", "11111111-2222-4333-8444-555555555555", 2, DistributionEvent.APPROVED
)


def key(recipient: str = "ops@acme.example.com", channel: Channel = Channel.EMAIL) -> LedgerKey:
    return LedgerKey(DELIVERY, channel, recipient)


@pytest.fixture(params=["memory", "dynamodb"])
def ledger(request: pytest.FixtureRequest, aws_env: None) -> Iterator[Ledger]:
    if request.param == "memory":
        yield MemoryLedger()
        return
    from moto import mock_aws

    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_ledger_table(client, "ledger-test")
        yield DynamoDbLedger(client, "ledger-test")


def claim(
    ledger: Ledger, owner: str = "w1", at: datetime = T0, k: LedgerKey | None = None
) -> object:
    return ledger.claim(k or key(), topic="aws-announce", owner=owner, now=at, lease=LEASE).outcome


def test_first_claim_wins_and_a_second_owner_is_busy_until_the_lease_ends(ledger: Ledger) -> None:
    assert claim(ledger, "w1") is ClaimOutcome.CLAIMED
    busy = ledger.claim(key(), topic="aws-announce", owner="w2", now=T0, lease=LEASE)
    assert busy.outcome is ClaimOutcome.BUSY
    assert busy.lease_until is not None
    assert abs((busy.lease_until - (T0 + LEASE)).total_seconds()) < 1
    assert claim(ledger, "w2", at=T0 + LEASE + timedelta(seconds=1)) is ClaimOutcome.CLAIMED


def test_the_owner_may_claim_again_to_renew_its_lease(ledger: Ledger) -> None:
    assert claim(ledger, "w1") is ClaimOutcome.CLAIMED
    assert claim(ledger, "w1", at=T0 + timedelta(seconds=30)) is ClaimOutcome.CLAIMED
    assert claim(ledger, "w2", at=T0 + timedelta(seconds=70)) is ClaimOutcome.BUSY


def test_a_sent_recipient_is_never_claimed_again(ledger: Ledger) -> None:
    claim(ledger)
    ledger.mark_sent(key(), message_id="msg-1", now=T0)
    again = ledger.claim(key(), topic="aws-announce", owner="w1", now=T0 + 2 * LEASE, lease=LEASE)
    assert again.outcome is ClaimOutcome.SENT
    assert again.message_id == "msg-1"
    assert claim(ledger, "w2", at=T0 + 10 * LEASE) is ClaimOutcome.SENT


def test_released_and_failed_recipients_can_be_claimed_at_once(ledger: Ledger) -> None:
    claim(ledger, "w1")
    ledger.release(key(), now=T0)
    assert claim(ledger, "w2") is ClaimOutcome.CLAIMED
    ledger.mark_failed(key(), reason="MessageRejected", now=T0)
    assert claim(ledger, "w3") is ClaimOutcome.CLAIMED


def test_entries_hold_state_message_id_reason_topic_and_attempts(ledger: Ledger) -> None:
    sent, failed = key("a@acme.example.com"), key("b@acme.example.com")
    invite = key("a@acme.example.com", Channel.INVITE)
    for k in (sent, failed, invite):
        claim(ledger, k=k)
    claim(ledger, k=sent)
    ledger.mark_sent(sent, message_id="msg-a", now=T0 + timedelta(seconds=5))
    ledger.mark_failed(failed, reason="address rejected", now=T0)
    entries = ledger.entries(DELIVERY.partition)
    assert [(e.channel, e.recipient, e.state) for e in entries] == [
        (Channel.EMAIL, "a@acme.example.com", LedgerState.SENT),
        (Channel.EMAIL, "b@acme.example.com", LedgerState.FAILED),
        (Channel.INVITE, "a@acme.example.com", LedgerState.SENDING),
    ]
    first = entries[0]
    assert (first.message_id, first.topic, first.attempts) == ("msg-a", "aws-announce", 2)
    assert first.created_at == T0
    assert first.updated_at == T0 + timedelta(seconds=5)
    assert entries[1].reason == "address rejected"


def test_deliveries_do_not_share_items(ledger: Ledger) -> None:
    claim(ledger)
    other = DeliveryKey("acme", DELIVERY.change_id, 3, DistributionEvent.APPROVED)
    assert claim(ledger, "w2", k=LedgerKey(other, Channel.EMAIL, key().recipient)) is (
        ClaimOutcome.CLAIMED
    )
    assert len(ledger.entries(DELIVERY.partition)) == 1
    assert ledger.entries("globex#none#v1#approved") == []

"""The ledger's outcome half (SES events) and suppressions, on the in-memory fake and on moto."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Protocol

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from changecast.aws.dynamodb import DynamoDbLedger, DynamoDbSuppressions, create_ledger_table
from changecast.contacts.models import SuppressionReason
from changecast.delivery.ledger import Channel, DeliveryKey, LedgerKey, LedgerState
from changecast.delivery.outcomes import DeliveryOutcome, OutcomeMark
from changecast.delivery.ports import Ledger, OutcomeLedger, SuppressionStore
from changecast.delivery.suppression import SuppressionRecord
from changecast.distribution.models import DistributionEvent
from tests.fakes.ledger import MemoryLedger, MemorySuppressions

T0 = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)
CHANGE = "11111111-2222-4333-8444-555555555555"


class BothLedger(Ledger, OutcomeLedger, Protocol):
    """The adapters implement both ports."""


@pytest.fixture(params=["memory", "dynamodb"])
def stores(
    request: pytest.FixtureRequest, aws_env: None
) -> Iterator[tuple[BothLedger, SuppressionStore]]:
    if request.param == "memory":
        yield MemoryLedger(), MemorySuppressions()
        return
    from moto import mock_aws

    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_ledger_table(client, "ledger-test")
        yield DynamoDbLedger(client, "ledger-test"), DynamoDbSuppressions(client, "ledger-test")


def sent(ledger: Ledger, recipient: str, *, version: int = 1, customer: str = "acme") -> LedgerKey:
    """Claim and mark ``recipient`` sent; its message id is ``id-{recipient}``."""
    delivery = DeliveryKey(customer, CHANGE, version, DistributionEvent.APPROVED)
    key = LedgerKey(delivery, Channel.EMAIL, recipient)
    ledger.claim(key, topic="aws-announce", owner="w1", now=T0, lease=LEASE)
    ledger.mark_sent(key, message_id=f"id-{recipient}-{version}", now=T0)
    return key


def test_a_sent_entry_is_found_by_its_message_id_with_outcome_sent(
    stores: tuple[BothLedger, SuppressionStore],
) -> None:
    ledger, _ = stores
    key = sent(ledger, "a@acme.example.com")
    found = ledger.find_by_message_id("id-a@acme.example.com-1")
    assert found is not None
    assert found.key == key
    assert found.ses_message_id == "id-a@acme.example.com-1"
    assert found.outcome == DeliveryOutcome.SENT.value
    assert ledger.find_by_message_id("nobody") is None


def record(ledger: BothLedger, key: LedgerKey, mark: OutcomeMark, message_id: str = "") -> None:
    ledger.record_outcomes([(key, message_id or f"id-{key.recipient}-1", mark)])


def test_a_higher_outcome_wins_and_a_lower_or_duplicate_one_changes_nothing(
    stores: tuple[BothLedger, SuppressionStore],
) -> None:
    ledger, _ = stores
    key = sent(ledger, "a@acme.example.com")
    bounce = OutcomeMark(DeliveryOutcome.BOUNCED, T0 + timedelta(seconds=5), "Permanent/General")
    record(ledger, key, bounce)
    record(ledger, key, bounce)
    record(ledger, key, OutcomeMark(DeliveryOutcome.DELIVERED, T0 + timedelta(seconds=9)))
    for entry in (*ledger.entries(key.partition), ledger.get(key)):
        assert entry is not None
        assert (entry.outcome, entry.outcome_detail) == ("bounced", "Permanent/General")
        assert entry.outcome_at == bounce.at
    (found,) = ledger.entries_for(CHANGE, "acme")
    assert (found.key, found.outcome) == (key, "bounced")
    assert ledger.find_by_message_id("id-a@acme.example.com-1") is not None


def test_an_outcome_for_another_message_id_is_never_shown(
    stores: tuple[BothLedger, SuppressionStore],
) -> None:
    ledger, _ = stores
    key = sent(ledger, "a@acme.example.com")
    record(ledger, key, OutcomeMark(DeliveryOutcome.COMPLAINED, T0), message_id="someone-else")
    assert ledger.entries(key.partition)[0].outcome == "sent"
    found = ledger.get(key)
    assert found is not None and found.outcome == "sent"


def test_a_mark_never_hides_the_send_loops_failed_or_suppressed(
    stores: tuple[BothLedger, SuppressionStore],
) -> None:
    ledger, _ = stores
    key = sent(ledger, "a@acme.example.com")
    failed = LedgerKey(key.delivery, Channel.EMAIL, "f@acme.example.com")
    ledger.claim(failed, topic="aws-announce", owner="w1", now=T0, lease=LEASE)
    ledger.mark_failed(failed, reason="MessageRejected: address blacklisted", now=T0)
    record(ledger, failed, OutcomeMark(DeliveryOutcome.DELIVERED, T0), message_id="stray")
    states = {e.recipient: (e.state, e.outcome) for e in ledger.entries(key.partition)}
    assert states["f@acme.example.com"] == (LedgerState.FAILED, "failed")
    assert ledger.sent_message_ids([failed, key]) == {key: "id-a@acme.example.com-1"}


def test_entries_for_lists_every_version_and_event_of_one_customer_only(
    stores: tuple[BothLedger, SuppressionStore],
) -> None:
    ledger, _ = stores
    sent(ledger, "a@acme.example.com", version=1)
    sent(ledger, "a@acme.example.com", version=2)
    sent(ledger, "b@globex.example.com", customer="globex")
    found = ledger.entries_for(CHANGE, "acme")
    assert sorted(e.key.delivery.version for e in found) == [1, 2]
    assert [e.recipient for e in ledger.entries_for(CHANGE, "globex")] == ["b@globex.example.com"]
    assert ledger.entries_for(str(uuid.uuid4()), "acme") == []


def test_a_suppressed_recipient_is_recorded_but_never_over_a_sent_one(
    stores: tuple[BothLedger, SuppressionStore],
) -> None:
    ledger, _ = stores
    done = sent(ledger, "a@acme.example.com")
    skipped = LedgerKey(done.delivery, Channel.EMAIL, "b@acme.example.com")
    ledger.mark_suppressed(skipped, topic="aws-announce", reason="Permanent bounce", now=T0)
    ledger.mark_suppressed(done, topic="aws-announce", reason="Permanent bounce", now=T0)
    states = {e.recipient: (e.state, e.outcome) for e in ledger.entries(done.partition)}
    assert states == {
        "a@acme.example.com": (LedgerState.SENT, "sent"),
        "b@acme.example.com": (LedgerState.SUPPRESSED, "suppressed"),
    }


def test_suppressions_are_kept_per_customer_case_folded_and_removable(
    stores: tuple[BothLedger, SuppressionStore],
) -> None:
    _, suppressions = stores
    record = SuppressionRecord("acme", "Bounce@Example.com", SuppressionReason.BOUNCE, T0, "x")
    suppressions.suppress(record)
    suppressions.suppress(record)
    assert [r.email for r in suppressions.suppressed("acme")] == ["Bounce@Example.com"]
    assert suppressions.suppressed("globex") == []
    assert suppressions.unsuppress("acme", "bounce@example.com")
    assert not suppressions.unsuppress("acme", "bounce@example.com")
    assert suppressions.suppressed("acme") == []


MARKS = st.builds(
    OutcomeMark,
    outcome=st.sampled_from(
        [
            DeliveryOutcome.SENT,
            DeliveryOutcome.DELIVERED,
            DeliveryOutcome.DELAYED,
            DeliveryOutcome.BOUNCED,
            DeliveryOutcome.COMPLAINED,
            DeliveryOutcome.REJECTED,
        ]
    ),
    at=st.integers(0, 3).map(lambda s: T0 + timedelta(seconds=s)),
    detail=st.sampled_from(["", "Permanent/General", "Transient/MailboxFull", "abuse"]),
)
_COUNTER = itertools.count()


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(marks=st.lists(MARKS, min_size=1, max_size=6), data=st.data())
def test_any_order_with_duplicates_converges_on_the_adapter(
    stores: tuple[BothLedger, SuppressionStore], marks: list[OutcomeMark], data: st.DataObject
) -> None:
    """Each order (with duplicates, one call each or all in one) ends in the same outcome."""
    ledger, _ = stores
    finals = set()
    for together in (False, True):
        order = data.draw(st.permutations(marks + data.draw(st.lists(st.sampled_from(marks)))))
        recipient = f"r{next(_COUNTER)}@acme.example.com"
        key = sent(ledger, recipient)
        if together:
            ledger.record_outcomes([(key, f"id-{recipient}-1", m) for m in order])
        for mark in [] if together else order:
            record(ledger, key, mark)
        (entry,) = [e for e in ledger.entries(key.partition) if e.recipient == recipient]
        finals.add((entry.outcome, entry.outcome_detail or "", entry.outcome_at))
    expected = max([*marks, OutcomeMark(DeliveryOutcome.SENT, T0)], key=lambda m: m.precedence_key)
    assert finals == {(expected.outcome.value, expected.detail, expected.at)}


def test_get_reads_one_entry_with_its_outcome(
    stores: tuple[BothLedger, SuppressionStore],
) -> None:
    ledger, _ = stores
    key = sent(ledger, "a@acme.example.com")
    neighbour = sent(ledger, "a@acme.example.com.au")  # its sort key starts with key's
    found = ledger.get(key)
    assert found is not None
    assert (found.key, found.message_id) == (key, "id-a@acme.example.com-1")
    assert ledger.get(LedgerKey(key.delivery, Channel.INVITE, "a@acme.example.com")) is None
    record(ledger, neighbour, OutcomeMark(DeliveryOutcome.BOUNCED, T0 + timedelta(seconds=2)))
    record(ledger, key, OutcomeMark(DeliveryOutcome.DELIVERED, T0 + timedelta(seconds=1)))
    found = ledger.get(key)
    assert found is not None
    assert (found.state, found.outcome) == (LedgerState.SENT, "delivered")


def test_sent_message_ids_reads_every_key_across_chunks_and_leaves_out_missing_ones(
    stores: tuple[BothLedger, SuppressionStore],
) -> None:
    ledger, _ = stores
    keys = [sent(ledger, f"p{n:03d}@acme.example.com") for n in range(130)]
    missing = LedgerKey(keys[0].delivery, Channel.EMAIL, "nobody@acme.example.com")
    claimed = LedgerKey(keys[0].delivery, Channel.EMAIL, "sending@acme.example.com")
    ledger.claim(claimed, topic="aws-announce", owner="w1", now=T0, lease=LEASE)
    found = ledger.sent_message_ids([*keys, missing, claimed, keys[3]])
    assert found == {k: f"id-{k.recipient}-1" for k in keys}


def test_record_outcomes_writes_many_in_chunks_and_each_entry_shows_its_greatest(
    stores: tuple[BothLedger, SuppressionStore],
) -> None:
    ledger, _ = stores
    keys = [sent(ledger, f"q{n:02d}@acme.example.com") for n in range(60)]
    delivered = OutcomeMark(DeliveryOutcome.DELIVERED, T0 + timedelta(seconds=9))
    bounce = OutcomeMark(DeliveryOutcome.BOUNCED, T0 + timedelta(seconds=5), "Permanent/General")
    ledger.record_outcomes(
        [(k, f"id-{k.recipient}-1", delivered) for k in keys]
        + [(k, f"id-{k.recipient}-1", bounce) for k in keys[::3]]
    )
    outcomes = {e.recipient: e.outcome for e in ledger.entries(keys[0].partition)}
    assert outcomes == {
        k.recipient: ("bounced" if i % 3 == 0 else "delivered") for i, k in enumerate(keys)
    }


def test_one_mark_for_one_recipient_in_two_deliveries_is_kept_for_each(
    stores: tuple[BothLedger, SuppressionStore],
) -> None:
    """The same address, outcome and moment in two deliveries (or for two message ids)."""
    ledger, _ = stores
    first = sent(ledger, "bounce@simulator.amazonses.com", version=1)
    second = sent(ledger, "bounce@simulator.amazonses.com", version=2)
    bounce = OutcomeMark(DeliveryOutcome.BOUNCED, T0, "Permanent/General")
    ledger.record_outcomes(
        [
            (first, "stray-message", bounce),
            (first, f"id-{first.recipient}-1", bounce),
            (second, f"id-{second.recipient}-2", bounce),
        ]
    )
    for key in (first, second):
        (entry,) = ledger.entries(key.partition)
        assert entry.outcome == "bounced", key

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


def test_a_higher_outcome_wins_and_a_lower_or_duplicate_one_changes_nothing(
    stores: tuple[BothLedger, SuppressionStore],
) -> None:
    ledger, _ = stores
    key = sent(ledger, "a@acme.example.com")
    mid = "id-a@acme.example.com-1"
    bounce = OutcomeMark(DeliveryOutcome.BOUNCED, T0 + timedelta(seconds=5), "Permanent/General")
    assert ledger.record_outcome(key, message_id=mid, mark=bounce)
    assert not ledger.record_outcome(key, message_id=mid, mark=bounce)
    later_delivery = OutcomeMark(DeliveryOutcome.DELIVERED, T0 + timedelta(seconds=9))
    assert not ledger.record_outcome(key, message_id=mid, mark=later_delivery)
    (entry,) = ledger.entries(key.partition)
    assert (entry.outcome, entry.outcome_detail) == ("bounced", "Permanent/General")
    assert entry.outcome_at == bounce.at


def test_an_outcome_for_another_message_id_is_refused(
    stores: tuple[BothLedger, SuppressionStore],
) -> None:
    ledger, _ = stores
    key = sent(ledger, "a@acme.example.com")
    mark = OutcomeMark(DeliveryOutcome.COMPLAINED, T0)
    assert not ledger.record_outcome(key, message_id="someone-else", mark=mark)
    assert ledger.entries(key.partition)[0].outcome == "sent"


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
    """Each order (with duplicates) of the same events ends in the same stored outcome."""
    ledger, _ = stores
    finals = set()
    for _ in range(2):
        order = data.draw(st.permutations(marks + data.draw(st.lists(st.sampled_from(marks)))))
        recipient = f"r{next(_COUNTER)}@acme.example.com"
        key = sent(ledger, recipient)
        for mark in order:
            ledger.record_outcome(key, message_id=f"id-{recipient}-1", mark=mark)
        (entry,) = [e for e in ledger.entries(key.partition) if e.recipient == recipient]
        finals.add((entry.outcome, entry.outcome_detail or "", entry.outcome_at))
    expected = max([*marks, OutcomeMark(DeliveryOutcome.SENT, T0)], key=lambda m: m.precedence_key)
    assert finals == {(expected.outcome.value, expected.detail, expected.at)}


def test_get_reads_one_entry_and_outcomes_lists_states_and_outcomes(
    stores: tuple[BothLedger, SuppressionStore],
) -> None:
    ledger, _ = stores
    key = sent(ledger, "a@acme.example.com")
    found = ledger.get(key)
    assert found is not None
    assert (found.key, found.message_id) == (key, "id-a@acme.example.com-1")
    assert ledger.get(LedgerKey(key.delivery, Channel.INVITE, "a@acme.example.com")) is None
    mark = OutcomeMark(DeliveryOutcome.DELIVERED, T0 + timedelta(seconds=1))
    ledger.record_outcome(key, message_id="id-a@acme.example.com-1", mark=mark)
    (brief,) = ledger.outcomes(key.partition)
    assert (brief.key, brief.state, brief.outcome) == (key, LedgerState.SENT, "delivered")


def test_get_many_reads_every_key_across_chunks_and_leaves_out_missing_ones(
    stores: tuple[BothLedger, SuppressionStore],
) -> None:
    ledger, _ = stores
    keys = [sent(ledger, f"p{n:03d}@acme.example.com") for n in range(130)]
    missing = LedgerKey(keys[0].delivery, Channel.EMAIL, "nobody@acme.example.com")
    found = ledger.get_many([*keys, missing, keys[3]])
    assert set(found) == set(keys)
    assert all(found[k] == ledger.get(k) for k in keys[:5])


def test_record_outcomes_writes_only_the_marks_that_outrank_and_stored_mark_matches(
    stores: tuple[BothLedger, SuppressionStore],
) -> None:
    from changecast.delivery.event_apply import stored_mark

    ledger, _ = stores
    a, b, c = (sent(ledger, f"{n}@acme.example.com") for n in "abc")
    bounce = OutcomeMark(DeliveryOutcome.BOUNCED, T0 + timedelta(seconds=5), "Permanent/General")
    assert ledger.record_outcome(b, message_id="id-b@acme.example.com-1", mark=bounce)
    delivered = OutcomeMark(DeliveryOutcome.DELIVERED, T0 + timedelta(seconds=9))
    changed = ledger.record_outcomes(
        [
            (a, "id-a@acme.example.com-1", delivered),
            (b, "id-b@acme.example.com-1", delivered),  # a bounce outranks it
            (c, "another-message", delivered),  # not this entry's message
        ]
    )
    assert changed == [True, False, False]
    entries = ledger.get_many([a, b, c])
    assert [stored_mark(entries[k]) for k in (a, b)] == [delivered, bounce]
    assert stored_mark(entries[c]) == OutcomeMark(DeliveryOutcome.SENT, T0)

"""Applying SES events: outcome precedence, convergence under replays, suppression, counts."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from changecast.contacts.models import SuppressedDestination, SuppressionReason
from changecast.delivery.event_apply import (
    EventDeps,
    EventNotMatchedError,
    ForeignEventError,
    UnknownMessageError,
    apply_event,
)
from changecast.delivery.ledger import Channel, DeliveryKey, LedgerKey
from changecast.delivery.outcomes import DeliveryOutcome, OutcomeMark, merge
from changecast.delivery.ses_events import (
    EventSource,
    SesEvent,
    UnprovenAccountError,
    message_tags,
    parse_event,
)
from changecast.distribution.models import DistributionEvent
from changecast.errors import UpstreamError
from changecast.local.ses_simulator import (
    SIMULATOR_ADDRESSES,
    SentMessage,
    simulated_events,
    sns_notification,
)
from tests.fakes.deliveries import MemoryDeliveryReadModel
from tests.fakes.ledger import MemoryLedger, MemorySuppressions

CHANGE = "11111111-2222-4333-8444-555555555555"
KEY = DeliveryKey("initech", CHANGE, 1, DistributionEvent.APPROVED)
ACCOUNT = "210000000002"
T0 = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)
RECIPIENTS = (*SIMULATOR_ADDRESSES, "ops-lead@initech.example.com")
TOPIC = f"arn:aws:sns:us-east-1:{ACCOUNT}:changecast-ses-events"
"""initech's events topic (the customer-account Terraform's ``{prefix}-ses-events``)."""


def sns(record: dict[str, object], topic: str = TOPIC) -> str:
    """The queue body of one SES record published on ``topic`` (SNS envelope kept)."""
    return sns_notification(topic, json.dumps(record))


def record_of(body: str) -> dict[str, Any]:
    """The SES record inside a queue body."""
    record: dict[str, Any] = json.loads(json.loads(body)["Message"])
    return record


def kind(body: str) -> str:
    return str(record_of(body)["eventType"])


class CountsSink(MemoryDeliveryReadModel):
    """The in-memory read model (held to the SQL one by tests/contract); its counts per row."""

    def counts(self) -> dict[tuple[str, int, str, str], tuple[int, int, int]]:
        return {k: (r.delivered, r.bounced, r.complained) for k, r in self.rows.items()}


@dataclass
class AccountList:
    """The customer's SES account-level list; ``broken`` makes it refuse like a denied role."""

    broken: bool = False
    listed: dict[str, SuppressionReason] = field(default_factory=dict)

    def put_suppressed(self, email: str, reason: SuppressionReason) -> None:
        if self.broken:
            raise UpstreamError("PutSuppressedDestination: AccessDenied", retryable=False)
        self.listed[email] = reason

    def delete_suppressed(self, email: str) -> None:
        self.listed.pop(email, None)

    def get_suppressed(self, email: str) -> SuppressedDestination | None:
        return None

    def list_suppressed(self) -> list[SuppressedDestination]:
        return []


@dataclass
class World:
    ledger: MemoryLedger = field(default_factory=MemoryLedger)
    suppressions: MemorySuppressions = field(default_factory=MemorySuppressions)
    sink: CountsSink = field(default_factory=CountsSink)
    account: AccountList = field(default_factory=AccountList)

    def deps(self) -> EventDeps:
        return EventDeps(
            ledger=self.ledger,
            suppressions=self.suppressions,
            read_model=self.sink,
            account_list=lambda _code: self.account,
            accounts={"initech": ACCOUNT},
            sources=[EventSource("initech", ACCOUNT, "us-east-1", TOPIC)],
        )

    def send_all(self) -> list[str]:
        """Mark every recipient sent; returns the queue bodies SES would publish for them."""
        bodies: list[str] = []
        for n, recipient in enumerate(RECIPIENTS):
            key = LedgerKey(KEY, Channel.EMAIL, recipient)
            self.ledger.claim(key, topic="aws-announce", owner="w", now=T0, lease=timedelta(60))
            self.ledger.mark_sent(key, message_id=f"msg-{n}", now=T0)
            sent = SentMessage(
                f"msg-{n}",
                "change-notices@ccoe.example.com",
                recipient,
                message_tags(KEY, Channel.EMAIL),
                T0,
                ACCOUNT,
                "us-east-1",
            )
            bodies.extend(sns(r) for r in simulated_events(sent))
        return bodies

    def state(self) -> tuple[object, ...]:
        entries = tuple(
            (e.recipient, e.state, e.outcome, e.outcome_detail, e.outcome_at)
            for e in self.ledger.entries(KEY.partition)
        )
        suppressed = tuple(
            (r.email, r.reason, r.message_id) for r in self.suppressions.suppressed("initech")
        )
        return entries, suppressed, tuple(sorted(self.sink.counts().items()))


def apply_all(world: World, bodies: list[str]) -> None:
    for body in bodies:
        apply_event(parse_event(body), deps=world.deps())


def test_the_simulator_addresses_end_delivered_bounced_complained_and_suppressed() -> None:
    world = World()
    apply_all(world, world.send_all())
    outcomes = {
        e.recipient: (e.outcome, e.outcome_detail) for e in world.ledger.entries(KEY.partition)
    }
    assert outcomes["success@simulator.amazonses.com"][0] == "delivered"
    assert outcomes["bounce@simulator.amazonses.com"] == (
        "bounced",
        "Permanent/General: smtp; 550 5.1.1 user unknown",
    )
    assert outcomes["complaint@simulator.amazonses.com"] == ("complained", "abuse")
    assert outcomes["suppressionlist@simulator.amazonses.com"][1].startswith(  # type: ignore[union-attr]
        "Permanent/OnSuppressionList"
    )
    assert outcomes["ops-lead@initech.example.com"][0] == "delivered"
    suppressed = {r.email: r.reason for r in world.suppressions.suppressed("initech")}
    assert suppressed == {
        "bounce@simulator.amazonses.com": SuppressionReason.BOUNCE,
        "complaint@simulator.amazonses.com": SuppressionReason.COMPLAINT,
        "suppressionlist@simulator.amazonses.com": SuppressionReason.BOUNCE,
    }
    assert world.account.listed == suppressed
    assert world.sink.counts()[(CHANGE, 1, "approved", "initech")] == (2, 2, 1)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_every_order_with_duplicates_gives_the_same_final_state(data: st.DataObject) -> None:
    """Random permutations of all events plus random duplicates converge on one state."""
    reference = World()
    bodies = reference.send_all()
    apply_all(reference, bodies)
    extra = data.draw(st.lists(st.sampled_from(bodies), max_size=len(bodies)))
    order = data.draw(st.permutations(bodies + extra))
    other = World()
    other.send_all()
    apply_all(other, order)
    assert other.state() == reference.state()


def test_replaying_everything_twice_in_reverse_changes_nothing() -> None:
    world = World()
    bodies = world.send_all()
    apply_all(world, bodies)
    before = world.state()
    apply_all(world, list(reversed(bodies)) * 2)
    assert world.state() == before


@given(st.lists(st.sampled_from(list(DeliveryOutcome)[:6]), min_size=1, max_size=5))
def test_merge_keeps_the_highest_ranked_outcome(outcomes: list[DeliveryOutcome]) -> None:
    marks = [OutcomeMark(o, T0 + timedelta(seconds=i)) for i, o in enumerate(outcomes)]
    final = None
    for mark in marks:
        final = merge(final, mark)
    rank = ["sent", "delayed", "delivered", "rejected", "bounced", "complained"]
    assert final is not None
    assert rank.index(final.outcome.value) == max(rank.index(o.value) for o in outcomes)


def test_a_delivery_never_overwrites_a_bounce_that_came_first() -> None:
    world = World()
    bodies = world.send_all()
    bounce = [b for b in bodies if kind(b) == "Bounce" and "bounce@" in b]
    late_delivery = record_of(bounce[0])
    late_delivery["eventType"] = "Delivery"
    late_delivery["delivery"] = {"timestamp": "2031-01-01T00:00:00Z", "recipients": []}
    apply_all(world, [*bounce, sns(late_delivery)])
    (entry,) = [e for e in world.ledger.entries(KEY.partition) if e.recipient.startswith("bounce@")]
    assert entry.outcome == "bounced"


def test_a_transient_bounce_records_the_outcome_but_suppresses_nobody() -> None:
    world = World()
    bodies = world.send_all()
    record = record_of(next(b for b in bodies if kind(b) == "Bounce" and "bounce@" in b))
    record["bounce"]["bounceType"], record["bounce"]["bounceSubType"] = "Transient", "MailboxFull"
    applied = apply_event(parse_event(sns(record)), deps=world.deps())
    assert (applied.outcome, applied.suppressed) == ("bounced", False)
    assert world.suppressions.suppressed("initech") == []


def test_when_the_ses_account_list_refuses_our_record_says_why() -> None:
    world = World(account=AccountList(broken=True))
    bodies = world.send_all()
    apply_all(world, [b for b in bodies if kind(b) == "Complaint"])
    (record,) = world.suppressions.suppressed("initech")
    assert "SES account list: not added: PutSuppressedDestination: AccessDenied" in record.detail


def event_for(
    message_id: str,
    *,
    ours: bool = True,
    account: str = ACCOUNT,
    recipient: str = "x@initech.example.com",
) -> SesEvent:
    tags = message_tags(KEY, Channel.EMAIL) if ours else {}
    sent = SentMessage(message_id, "s@ccoe.example.com", recipient, tags, T0, account, "us-east-1")
    return parse_event(sns(simulated_events(sent)[1]))


def test_an_event_of_ours_before_its_ledger_entry_is_retried_and_a_strangers_is_refused() -> None:
    world = World()
    with pytest.raises(EventNotMatchedError) as raised:
        apply_event(event_for("not-yet"), deps=world.deps())
    assert raised.value.retryable
    with pytest.raises(UnknownMessageError, match="is not ours"):
        apply_event(event_for("stranger", ours=False), deps=world.deps())


def test_an_event_from_another_account_than_the_customers_is_refused() -> None:
    world = World()
    world.send_all()
    with pytest.raises(ForeignEventError, match="came from account 999999999999"):
        apply_event(event_for("msg-0", account="999999999999"), deps=world.deps())
    # matched by its tags and destination (the batch's one read), still checked
    foreign = event_for("msg-0", account="999999999999", recipient=RECIPIENTS[0])
    with pytest.raises(ForeignEventError, match="came from account 999999999999"):
        apply_event(foreign, deps=world.deps())
    assert world.ledger.entries(KEY.partition)[0].outcome == "sent"


def test_an_event_on_another_accounts_topic_changes_nothing() -> None:
    """Without configured topics, each customer owns its account's ``*-ses-events`` topics."""
    world = World()
    bodies = world.send_all()
    deps = replace(
        world.deps(), sources=(), accounts={"initech": ACCOUNT, "globex": "210000000009"}
    )
    complaint = record_of(next(b for b in bodies if kind(b) == "Complaint"))
    del complaint["mail"]["sendingAccountId"]
    foreign = "arn:aws:sns:us-east-1:210000000009:changecast-ses-events"
    with pytest.raises(ForeignEventError, match="came through customer globex's events topic"):
        apply_event(parse_event(sns(complaint, foreign)), deps=deps)
    stranger = "arn:aws:sns:us-east-1:999999999999:changecast-ses-events"
    with pytest.raises(UnprovenAccountError, match="is no customer's SES events topic"):
        apply_event(parse_event(sns(complaint, stranger)), deps=deps)
    with pytest.raises(UnprovenAccountError, match="no TopicArn"):
        apply_event(parse_event(json.dumps(complaint)), deps=deps)
    assert world.suppressions.suppressed("initech") == []
    assert {e.outcome for e in world.ledger.entries(KEY.partition)} == {"sent"}
    apply_event(parse_event(sns(complaint)), deps=deps)  # its own topic: applied
    assert [r.reason for r in world.suppressions.suppressed("initech")] == [
        SuppressionReason.COMPLAINT
    ]

"""Delivering one trigger through fakes: audiences, invites, the ledger, throttling, stops."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest

from changecast.changes.models import ChangeStatus
from changecast.customers.models import AppConfig
from changecast.delivery.ledger import Channel, ClaimOutcome, LedgerKey, LedgerState
from changecast.delivery.models import ExecutionDocument, ExecutionStatus
from changecast.delivery.pacing import Backoff, TokenBucket
from changecast.delivery.ports import RecipientsBusyError
from changecast.delivery.sending import DeliveryStoppedError
from changecast.delivery.service import (
    DeliveryDeps,
    DeliveryRequest,
    deliver,
    delivery_key,
    load_version,
)
from changecast.distribution.models import DistributionEvent
from changecast.errors import InvalidInputError, NotFoundError, UpstreamError
from changecast.layout import execution_key
from changecast.local.demo import demo_config
from tests.delivery_support import (
    StepClock,
    demo_contact_list,
    many_contacts,
    publish,
    stored_change,
)
from tests.fakes.ledger import MemoryLedger
from tests.fakes.mail import FakeMail, FakeSesAccount
from tests.fakes.ses import FakeSes
from tests.fakes.store import MemoryObjectStore

CONFIG: AppConfig = demo_config(3, portal_url="http://portal.test")
SENDER = CONFIG.email_config.sender_address
ORGANIZER = CONFIG.email_config.meeting_organizer
NEVER = threading.Event()


@dataclass
class World:
    code: str = "acme"
    contacts: FakeSes | None = None
    mail: FakeMail = field(default_factory=lambda: FakeMail(verified={SENDER, ORGANIZER}))
    ledger: MemoryLedger = field(default_factory=MemoryLedger)
    store: MemoryObjectStore = field(default_factory=MemoryObjectStore)
    clock: StepClock = field(default_factory=StepClock)

    def deps(self, owner: str = "worker-1") -> DeliveryDeps:
        mapping = CONFIG.customer_mappings[self.code]
        contacts = self.contacts or demo_contact_list(
            mapping, {"acme": 4, "globex": 5}.get(self.code, 6)
        )
        self.contacts = contacts
        return DeliveryDeps(
            customer=mapping,
            email_config=CONFIG.email_config,
            store=self.store,
            ses=FakeSesAccount(self.mail, contacts),
            ledger=self.ledger,
            clock=self.clock,
            owner=owner,
            backoff=Backoff(base=0.001, cap=0.002),
            sleep=lambda _: None,
            bucket=TokenBucket(1_000_000),
        )


def emails(mail: FakeMail, kind: str = "simple") -> list[str]:
    return sorted(m.to for m in mail.sent if m.kind == kind)


def test_an_approval_request_goes_once_to_each_approval_subscriber() -> None:
    world = World()
    change = stored_change(status=ChangeStatus.SUBMITTED)
    record = deliver(
        DeliveryRequest.for_change(change, DistributionEvent.SUBMITTED),
        deps=world.deps(),
        stop=NEVER,
    )
    assert emails(world.mail) == ["cloud-architect@acme.example.com", "ops-lead@acme.example.com"]
    assert emails(world.mail, "raw") == []
    assert {(m.topic, m.list_name, m.sender) for m in world.mail.sent} == {
        ("aws-approval", "changecast", SENDER)
    }
    assert world.mail.sent[0].subject.startswith("[Approval requested] ")
    assert (record.status, record.recipients, record.sent, record.failed) == (
        ExecutionStatus.DELIVERED,
        2,
        2,
        0,
    )
    saved = ExecutionDocument.model_validate_json(
        world.store.get(execution_key(change.change_id, 1, "acme")).body
    )
    assert saved.events[DistributionEvent.SUBMITTED] == record


def test_a_non_production_customer_mails_only_its_restricted_recipients() -> None:
    world = World(code="globex")
    change = stored_change(status=ChangeStatus.APPROVED)
    record = deliver(
        DeliveryRequest.for_change(change, DistributionEvent.APPROVED),
        deps=world.deps(),
        stop=NEVER,
    )
    assert emails(world.mail) == ["ops-lead@globex.example.com"]
    assert emails(world.mail, "raw") == ["ops-lead@globex.example.com"]
    # announce: cloud-architect, sre-oncall and security-team dropped; calendar: sre-oncall
    assert (record.recipients, record.filtered) == (2, 4)


def test_approval_sends_the_announcement_and_a_request_invite_to_calendar_subscribers() -> None:
    world = World()
    change = stored_change(status=ChangeStatus.APPROVED)
    deliver(
        DeliveryRequest.for_change(change, DistributionEvent.APPROVED),
        deps=world.deps(),
        stop=NEVER,
    )
    assert emails(world.mail) == [
        "cloud-architect@acme.example.com",
        "ops-lead@acme.example.com",
        "sre-oncall@acme.example.com",
    ]
    invites = [m for m in world.mail.sent if m.kind == "raw"]
    assert sorted(m.to for m in invites) == [
        "ops-lead@acme.example.com",
        "sre-oncall@acme.example.com",
    ]
    raw = invites[0].raw.decode()
    assert invites[0].topic == "aws-calendar" and invites[0].sender == ORGANIZER
    assert 'text/calendar; charset="utf-8"; method=REQUEST' in raw
    assert "X-Changecast-Topic: aws-calendar" in raw


def test_a_second_delivery_of_the_same_trigger_sends_nothing_again() -> None:
    world = World()
    change = stored_change(status=ChangeStatus.APPROVED)
    request = DeliveryRequest.for_change(change, DistributionEvent.APPROVED)
    first = deliver(request, deps=world.deps(), stop=NEVER)
    second = deliver(request, deps=world.deps(owner="worker-2"), stop=NEVER)
    assert len(world.mail.sent) == first.sent == 5
    assert (second.sent, second.already_sent, second.status) == (0, 5, ExecutionStatus.DELIVERED)


def test_throttling_loses_nothing_and_sends_nothing_twice() -> None:
    world = World()
    world.mail = FakeMail(verified={SENDER}, throttle_ratio=0.3, seed=11)
    mapping = CONFIG.customer_mappings["acme"]
    world.contacts = many_contacts(mapping, 120)
    change = stored_change(status=ChangeStatus.COMPLETED)
    record = deliver(
        DeliveryRequest.for_change(change, DistributionEvent.COMPLETED),
        deps=world.deps(),
        stop=NEVER,
    )
    assert world.mail.throttled > 20
    assert record.sent == 120 and record.failed == 0
    assert len(emails(world.mail)) == len(set(emails(world.mail))) == 120


def test_a_rejected_recipient_is_recorded_and_the_others_still_get_mail() -> None:
    world = World()
    world.mail.reject.add("cloud-architect@acme.example.com")
    change = stored_change(status=ChangeStatus.SUBMITTED)
    deps = world.deps()
    record = deliver(
        DeliveryRequest.for_change(change, DistributionEvent.SUBMITTED), deps=deps, stop=NEVER
    )
    assert emails(world.mail) == ["ops-lead@acme.example.com"]
    assert (record.status, record.sent, record.failed) == (ExecutionStatus.PARTIAL, 1, 1)
    assert record.failures[0].recipient == "cloud-architect@acme.example.com"
    assert "MessageRejected" in record.failures[0].reason
    key = delivery_key(DeliveryRequest.for_change(change, DistributionEvent.SUBMITTED), "acme")
    states = {e.recipient: e.state for e in world.ledger.entries(key.partition)}
    assert states["cloud-architect@acme.example.com"] is LedgerState.FAILED


def test_a_stop_takes_effect_after_the_recipients_in_flight_and_a_rerun_finishes() -> None:
    world = World()
    world.contacts = many_contacts(CONFIG.customer_mappings["acme"], 30)
    stop = threading.Event()
    world.mail.before_send = lambda to: stop.set() if to.startswith("person-0003") else None
    request = DeliveryRequest.for_change(stored_change(), DistributionEvent.COMPLETED)
    deps = world.deps()
    deps.concurrency = 2
    with pytest.raises(DeliveryStoppedError):
        deliver(request, deps=deps, stop=stop)
    stopped_at = len(world.mail.sent)
    assert 4 <= stopped_at <= 4 + 2  # the pool's width of recipients may still be in flight
    record = deliver(request, deps=world.deps(owner="worker-2"), stop=NEVER)
    assert (record.sent, record.already_sent) == (30 - stopped_at, stopped_at)
    assert len(set(emails(world.mail))) == len(world.mail.sent) == 30


class CrashingLedger(MemoryLedger):
    """Loses the process right after SES accepted the message for ``victim``."""

    victim: str = ""

    def mark_sent(self, key: LedgerKey, *, message_id: str, now: datetime) -> None:
        if key.recipient == self.victim:
            raise KeyboardInterrupt("crash between SES and the ledger")
        super().mark_sent(key, message_id=message_id, now=now)


def test_a_crash_between_send_and_ledger_write_costs_at_most_one_duplicate() -> None:
    world = World(ledger=CrashingLedger())
    world.contacts = many_contacts(CONFIG.customer_mappings["acme"], 20)
    world.ledger.victim = "person-0007@acme.example.com"  # type: ignore[attr-defined]
    request = DeliveryRequest.for_change(stored_change(), DistributionEvent.COMPLETED)
    with pytest.raises(KeyboardInterrupt):
        deliver(request, deps=world.deps(), stop=NEVER)
    world.ledger.victim = ""  # type: ignore[attr-defined]
    world.clock.at += timedelta(minutes=5)
    deliver(request, deps=world.deps(owner="worker-2"), stop=NEVER)
    sent = [m.to for m in world.mail.sent]
    assert set(sent) == {f"person-{n:04d}@acme.example.com" for n in range(20)}
    assert len(sent) - len(set(sent)) <= 1


def test_recipients_held_by_another_delivery_make_the_trigger_retry_after_the_lease() -> None:
    world = World()
    change = stored_change(status=ChangeStatus.SUBMITTED)
    request = DeliveryRequest.for_change(change, DistributionEvent.SUBMITTED)
    held = LedgerKey(delivery_key(request, "acme"), Channel.EMAIL, "ops-lead@acme.example.com")
    lease = timedelta(seconds=60)
    claim = world.ledger.claim(held, topic="t", owner="other", now=world.clock.now(), lease=lease)
    assert claim.outcome is ClaimOutcome.CLAIMED
    with pytest.raises(RecipientsBusyError) as raised:
        deliver(request, deps=world.deps(), stop=NEVER)
    assert 50 <= raised.value.retry_after <= 60
    assert emails(world.mail) == ["cloud-architect@acme.example.com"]


def test_a_subject_with_a_line_break_is_refused_before_anything_is_sent() -> None:
    world = World()
    change = stored_change(title="Patch\r\nBcc: everyone@example.com")
    with pytest.raises(InvalidInputError, match="CR or LF"):
        deliver(
            DeliveryRequest.for_change(change, DistributionEvent.APPROVED),
            deps=world.deps(),
            stop=NEVER,
        )
    assert world.mail.sent == []


def test_a_change_for_other_customers_is_refused() -> None:
    world = World()
    change = stored_change(customers=["initech"])
    with pytest.raises(InvalidInputError, match="not for customer acme"):
        deliver(
            DeliveryRequest.for_change(change, DistributionEvent.APPROVED),
            deps=world.deps(),
            stop=NEVER,
        )


@pytest.mark.parametrize(
    ("from_ses", "from_config", "expected"),
    [(50.0, 14.0, 50.0), (None, 14.0, 14.0), (None, None, 1.0)],
)
def test_the_send_rate_comes_from_ses_then_config_then_a_safe_default(
    from_ses: float | None, from_config: float | None, expected: float
) -> None:
    world = World()
    deps = world.deps()
    deps.bucket = None
    deps.customer = deps.customer.model_copy(update={"max_send_rate": from_config})
    world.mail.rate = from_ses
    assert deps.pacing(world.mail).rate == expected


def test_a_trigger_loads_exactly_the_version_it_names() -> None:
    store = MemoryObjectStore()
    v1 = stored_change(version=1)
    v2 = v1.model_copy(update={"version": 2})
    publish(store, v1, DistributionEvent.APPROVED, "acme")
    trigger = publish(store, v2, DistributionEvent.UPDATED, "acme")
    assert load_version(trigger, store=store).version == 2
    missing = trigger.model_copy(update={"archive_key": trigger.archive_key.replace("-v2", "-v9")})
    with pytest.raises(InvalidInputError):
        load_version(missing, store=store)
    store.delete(trigger.archive_key)
    with pytest.raises(NotFoundError):
        load_version(trigger, store=store)


class ThrottledAtFirst(FakeMail):
    """Throttles the first ``times`` calls, then accepts."""

    times: int = 4

    def send_email(self, **kwargs: Any) -> str:
        if self.times:
            self.times -= 1
            self.throttled += 1
            raise UpstreamError("TooManyRequestsException", retryable=True, throttled=True)
        return super().send_email(**kwargs)


def test_a_long_back_off_renews_the_lease_so_no_one_else_takes_the_recipient() -> None:
    world = World(clock=StepClock(step=timedelta(seconds=20)))
    world.mail = ThrottledAtFirst(verified={SENDER})
    world.contacts = many_contacts(CONFIG.customer_mappings["acme"], 1)
    request = DeliveryRequest.for_change(stored_change(), DistributionEvent.COMPLETED)
    record = deliver(request, deps=world.deps(), stop=NEVER)
    assert (record.sent, world.mail.throttled) == (1, 4)
    [entry] = world.ledger.entries(delivery_key(request, "acme").partition)
    assert entry.state is LedgerState.SENT
    assert entry.attempts > 1  # claimed again while backing off

"""The concurrent send loop: never twice, stops between recipients, rejections, errors, tally."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from changecast.delivery.ledger import Channel, ClaimOutcome, DeliveryKey, LedgerKey, LedgerState
from changecast.delivery.pacing import Backoff, TokenBucket
from changecast.delivery.ports import RecipientRejectedError
from changecast.delivery.sending import DeliveryStoppedError, Sender
from changecast.distribution.models import DistributionEvent
from changecast.errors import UpstreamError
from tests.delivery_support import StepClock
from tests.fakes.ledger import MemoryLedger
from tests.unit.test_pacing import FakeTime

KEY = DeliveryKey("acme", "c-1", 1, DistributionEvent.COMPLETED)
TOPIC = "aws-announce"
LEASE = timedelta(seconds=60)


def people(count: int) -> list[str]:
    return [f"p{number:04d}@acme.example.com" for number in range(count)]


@dataclass
class RecordingSes:
    """Records every call and accepted message; can reject, throttle, fail, or hook a send."""

    reject: set[str] = field(default_factory=set)
    throttle_first: int = 0
    fail_for: str | None = None
    on_send: dict[str, threading.Event] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)
    accepted: Counter[str] = field(default_factory=Counter)
    throttled: int = 0
    concurrent: int = 0
    most_concurrent: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, to: str) -> str:
        with self._lock:
            self.calls[to] += 1
            self.concurrent += 1
            self.most_concurrent = max(self.most_concurrent, self.concurrent)
            throttle = self.throttled < self.throttle_first
            if throttle:
                self.throttled += 1
        try:
            if to in self.on_send:
                self.on_send[to].set()
            if throttle:
                raise UpstreamError("TooManyRequestsException", retryable=True, throttled=True)
            if to == self.fail_for:
                raise UpstreamError("AccessDenied for SendEmail", retryable=False)
            if to in self.reject:
                raise RecipientRejectedError(f"SendEmail was rejected: MessageRejected: {to}")
            with self._lock:
                self.accepted[to] += 1
            threading.Event().wait(0.001)  # let the other threads run meanwhile
            return f"m-{to}"
        finally:
            with self._lock:
                self.concurrent -= 1


def sender(
    ledger: MemoryLedger,
    *,
    owner: str = "w1",
    stop: threading.Event | None = None,
    threads: int = 8,
    bucket: TokenBucket | None = None,
) -> Sender:
    return Sender(
        delivery=KEY,
        ledger=ledger,
        bucket=bucket or TokenBucket(1_000_000),
        clock=StepClock(),
        owner=owner,
        stop=stop or threading.Event(),
        backoff=Backoff(base=0.0001, cap=0.0002),
        concurrency=threads,
    )


def states(ledger: MemoryLedger) -> Counter[LedgerState]:
    return Counter(e.state for e in ledger.entries(KEY.partition))


def test_eight_threads_send_each_of_500_recipients_exactly_once_skipping_those_sent() -> None:
    ledger = MemoryLedger()
    everyone = people(500)
    for earlier in everyone[::10]:  # an earlier run sent every tenth recipient
        key = LedgerKey(KEY, Channel.EMAIL, earlier)
        ledger.claim(key, topic=TOPIC, owner="old", now=StepClock().now(), lease=LEASE)
        ledger.mark_sent(key, message_id="old", now=StepClock().now())
    ses = RecordingSes()
    run = sender(ledger)
    run.send_all(Channel.EMAIL, TOPIC, everyone, ses.send)
    assert ses.most_concurrent > 1  # really concurrent
    assert set(ses.calls) == set(everyone) - set(everyone[::10])
    assert set(ses.calls.values()) == {1}
    assert (run.tally.sent, run.tally.already_sent, run.tally.failed) == (450, 50, 0)
    assert states(ledger) == {LedgerState.SENT: 500}


def test_two_concurrent_senders_on_one_delivery_never_send_a_recipient_twice() -> None:
    ledger = MemoryLedger()
    everyone = people(300)
    ses = RecordingSes()
    first, second = sender(ledger, owner="w1"), sender(ledger, owner="w2")
    threads = [
        threading.Thread(target=s.send_all, args=(Channel.EMAIL, TOPIC, everyone, ses.send))
        for s in (first, second)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(ses.accepted) == set(everyone)
    assert set(ses.calls.values()) == {1}
    assert first.tally.sent + second.tally.sent == 300
    assert states(ledger) == {LedgerState.SENT: 300}


def test_a_stop_lets_the_recipients_in_flight_finish_and_be_recorded_then_a_rerun_finishes() -> (
    None
):
    ledger = MemoryLedger()
    everyone = people(200)
    stop = threading.Event()
    ses = RecordingSes(on_send={everyone[20]: stop})
    run = sender(ledger, stop=stop, threads=4)
    with pytest.raises(DeliveryStoppedError):
        run.send_all(Channel.EMAIL, TOPIC, everyone, ses.send)
    sent = set(ses.accepted)
    assert everyone[20] in sent
    assert 21 <= len(sent) <= 21 + 4  # at most the pool's width after the stop
    entries = {e.recipient: e.state for e in ledger.entries(KEY.partition)}
    assert {r for r, s in entries.items() if s is LedgerState.SENT} == sent
    assert LedgerState.SENDING not in entries.values()  # nothing left claimed
    rerun = sender(ledger, owner="w2", threads=4)
    rerun.send_all(Channel.EMAIL, TOPIC, everyone, ses.send)
    assert (rerun.tally.sent, rerun.tally.already_sent) == (200 - len(sent), len(sent))
    assert set(ses.calls.values()) == {1}


def test_rejected_recipients_are_recorded_failed_and_the_rest_are_sent() -> None:
    ledger = MemoryLedger()
    everyone = people(100)
    rejected = set(everyone[5::20])
    ses = RecordingSes(reject=rejected)
    run = sender(ledger)
    run.send_all(Channel.EMAIL, TOPIC, everyone, ses.send)
    assert (run.tally.sent, run.tally.failed) == (95, 5)
    assert {f.recipient for f in run.tally.failures} == rejected
    assert all("MessageRejected" in f.reason for f in run.tally.failures)
    entries = {e.recipient: e.state for e in ledger.entries(KEY.partition)}
    assert {r for r, s in entries.items() if s is LedgerState.FAILED} == rejected
    assert set(ses.accepted) == set(everyone) - rejected


def test_throttled_sends_are_retried_counted_and_slow_the_bucket() -> None:
    ledger = MemoryLedger()
    ses = RecordingSes(throttle_first=30)
    fake = FakeTime()  # the bucket's own clock: 30 throttled calls in a row are a storm
    run = sender(ledger, bucket=TokenBucket(20, clock=fake.clock, sleep=fake.sleep))
    run.send_all(Channel.EMAIL, TOPIC, people(60), ses.send)
    assert set(ses.accepted) == set(people(60))
    assert set(ses.accepted.values()) == {1}
    assert run.tally.throttled == 30
    assert run.tally.rate_reduced >= 1
    assert run.tally.rate_reduced == run.bucket.reductions


def test_an_unrecoverable_error_stops_new_recipients_and_leaves_nothing_claimed() -> None:
    ledger = MemoryLedger()
    everyone = people(200)
    ses = RecordingSes(fail_for=everyone[10])
    run = sender(ledger, threads=4)
    with pytest.raises(UpstreamError, match="AccessDenied"):
        run.send_all(Channel.EMAIL, TOPIC, everyone, ses.send)
    entries = {e.recipient: e.state for e in ledger.entries(KEY.partition)}
    assert LedgerState.SENDING not in entries.values()
    assert entries[everyone[10]] is LedgerState.PENDING  # released for the next attempt
    assert {r for r, s in entries.items() if s is LedgerState.SENT} == set(ses.accepted)
    assert len(ses.accepted) < 200 - 1


def test_a_recipient_claimed_by_a_live_worker_is_left_to_it() -> None:
    ledger = MemoryLedger()
    everyone = people(20)
    held = LedgerKey(KEY, Channel.EMAIL, everyone[3])
    claim = ledger.claim(held, topic=TOPIC, owner="other", now=StepClock().now(), lease=LEASE)
    assert claim.outcome is ClaimOutcome.CLAIMED
    ses = RecordingSes()
    run = sender(ledger)
    run.send_all(Channel.EMAIL, TOPIC, everyone, ses.send)
    assert everyone[3] not in ses.calls
    assert run.tally.sent == 19
    assert run.tally.busy_until is not None

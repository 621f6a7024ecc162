"""The token bucket on a fake clock: never over the rate in any window, at rate; the controller
tells random throttling from a limit and recovers after a storm."""

from __future__ import annotations

import random
import threading
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs

from changecast.aws.sessions import AwsClients
from changecast.delivery.pacing import (
    HEADROOM,
    MAX_CONCURRENCY,
    Backoff,
    TokenBucket,
    choose_rate,
    concurrency_for,
)


class FakeTime:
    """A monotonic clock that moves only when slept on (or by ``work`` per send)."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.slept = 0.0
        self._lock = threading.Lock()

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept += seconds
            self.now += seconds


def send_times(rate: float, count: int, work: float = 0.0) -> list[float]:
    fake = FakeTime()
    bucket = TokenBucket(rate, clock=fake.clock, sleep=fake.sleep)
    times = []
    for _ in range(count):
        bucket.acquire()
        times.append(fake.now)
        fake.now += work
    return times


def max_in_any_second(times: list[float]) -> int:
    ordered = sorted(times)
    return max(bisect_left(ordered, t + 1.0) - i for i, t in enumerate(ordered))


@settings(max_examples=60, deadline=None)
@given(
    rate=st.floats(min_value=0.5, max_value=500.0),
    work=st.floats(min_value=0.0, max_value=0.05),
)
def test_no_one_second_window_holds_more_than_the_rate(rate: float, work: float) -> None:
    times = send_times(rate, count=int(rate * 3) + 2, work=work)
    assert max_in_any_second(times) <= max(1, int(rate))


@settings(max_examples=40, deadline=None)
@given(
    rate=st.integers(min_value=2, max_value=300),
    lateness=st.lists(st.floats(min_value=0.0, max_value=0.05), min_size=20, max_size=200),
    throttles=st.sets(st.integers(min_value=0, max_value=199), max_size=20),
)
def test_late_wake_ups_and_rate_changes_never_put_more_than_the_rate_in_a_window(
    rate: int, lateness: list[float], throttles: set[int]
) -> None:
    """Threads that wake late (CPU contention) and rate changes still keep every window."""
    fake = FakeTime()
    bucket = TokenBucket(rate, clock=fake.clock, sleep=fake.sleep)
    times = []
    for number, late in enumerate(lateness):
        fake.now += late
        started = bucket.take()
        times.append(started)
        if number in throttles:
            bucket.throttled(started)
        else:
            bucket.succeeded()
    assert max_in_any_second(times) <= rate


def test_threads_sharing_a_bucket_never_start_more_than_the_rate_in_a_window() -> None:
    """Eight threads take slots and stamp their request's start on the shared fake clock."""
    fake = FakeTime()
    bucket = TokenBucket(100, clock=fake.clock, sleep=fake.sleep)
    starts: list[float] = []
    lock = threading.Lock()

    def sender() -> None:
        for _ in range(60):
            bucket.take()
            with lock:
                starts.append(fake.clock())  # when the request leaves, after the slot

    threads = [threading.Thread(target=sender) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(starts) == 480
    assert max_in_any_second(starts) <= 100
    achieved = (len(starts) - 1) / (max(starts) - min(starts))
    assert achieved >= 0.95 * 100


@pytest.mark.parametrize("rate", [1.0, 14.0, 50.0, 200.0])
def test_the_bucket_sends_at_the_rate_less_its_headroom(rate: float) -> None:
    times = send_times(rate, count=int(rate * 10) + 1)
    achieved = (len(times) - 1) / (times[-1] - times[0])
    assert achieved == pytest.approx(rate * (1 - HEADROOM), rel=2e-3)
    assert achieved >= 0.95 * rate


def test_slow_sends_are_not_followed_by_a_burst() -> None:
    fake = FakeTime()
    bucket = TokenBucket(10, clock=fake.clock, sleep=fake.sleep)
    bucket.acquire()
    fake.now += 5.0  # a long pause (a slow call, a back-off)
    times = []
    for _ in range(20):
        bucket.acquire()
        times.append(fake.now)
    assert max_in_any_second(times) <= 10


def test_a_fractional_rate_above_one_rounds_down_to_whole_sends() -> None:
    assert TokenBucket(14.7).rate == 14
    assert TokenBucket(0.5).rate == 0.5


def test_the_first_send_does_not_wait() -> None:
    fake = FakeTime()
    assert TokenBucket(2, clock=fake.clock, sleep=fake.sleep).acquire() == 0.0
    assert fake.slept == 0.0


@pytest.mark.parametrize("rate", [0.0, -1.0, float("inf"), float("nan")])
def test_a_rate_must_be_positive_and_finite(rate: float) -> None:
    with pytest.raises(ValueError, match="rate"):
        TokenBucket(rate)


Verdict = Callable[[float, list[float], random.Random], bool]
"""(request start, starts SES accepted so far, random) -> True when SES accepts the request."""


@dataclass
class Drive:
    """What one paced run saw: request starts, accepted and throttled ones, the rate over time."""

    bucket: TokenBucket
    started_at: float
    attempts: list[float] = field(default_factory=list)
    accepted: list[float] = field(default_factory=list)
    refused: list[float] = field(default_factory=list)
    rates: list[tuple[float, float]] = field(default_factory=list)

    def accepted_between(self, start: float, end: float) -> int:
        return sum(1 for t in self.accepted if start <= t - self.started_at < end)

    def refused_between(self, start: float, end: float) -> int:
        return sum(1 for t in self.refused if start <= t - self.started_at < end)


def drive(rate: float, seconds: float, verdict: Verdict, *, seed: int = 1) -> Drive:
    """One sender taking slots on a fake clock for ``seconds``; SES answers by ``verdict``."""
    fake = FakeTime()
    bucket = TokenBucket(rate, clock=fake.clock, sleep=fake.sleep)
    run = Drive(bucket, fake.now)
    chance = random.Random(seed)
    while fake.now - run.started_at < seconds:
        started = bucket.take()
        run.attempts.append(started)
        if verdict(started - run.started_at, run.accepted, chance):
            run.accepted.append(started)
            bucket.succeeded(started)
        else:
            run.refused.append(started)
            bucket.throttled(started)
        run.rates.append((started - run.started_at, bucket.rate))
    return run


def at_random(share: float) -> Verdict:
    return lambda _at, _accepted, chance: chance.random() >= share


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_random_throttling_does_not_collapse_the_rate(seed: int) -> None:
    """30% of calls throttled at random at 8/s: SES would take 5.6/s; the bucket takes most."""
    with capture_logs() as logs:
        run = drive(8, 60, at_random(0.3), seed=seed)
    accepted = len(run.accepted) / 60
    assert accepted >= 0.8 * 8 * 0.7
    assert 0.15 <= run.bucket.noise <= 0.45  # it learned the noise
    assert max_in_any_second(run.attempts) <= 8
    verdicts = [e["verdict"] for e in logs if e["event"] == "send_rate_probe"]
    assert verdicts[0] == "testing" and "noise" in verdicts
    assert run.bucket.limit is None  # any limit read into a noisy stretch was dropped again


def test_isolated_throttles_leave_the_rate_alone() -> None:
    """One throttle in ten (never two in one window) changes nothing."""
    with capture_logs() as logs:
        run = drive(10, 30, lambda at, _accepted, _: round(at * 10) % 10 != 5)
    assert run.refused
    assert {rate for _, rate in run.rates} == {10}
    assert logs == []


def test_a_limit_below_the_reported_rate_is_found_and_kept() -> None:
    """The account reports 14/s, but SES accepts only 8 in any second (another sender)."""

    def limit(at: float, accepted: list[float], _: random.Random) -> bool:
        now = at + 1_000.0
        return len(accepted) - bisect_left(accepted, now - 1.0) < 8

    with capture_logs() as logs:
        run = drive(14, 40, limit)
    assert run.bucket.limit is not None and 6.5 <= run.bucket.limit <= 8.5
    later = run.accepted_between(10, 40)
    assert later / 30 >= 0.85 * 8
    assert run.refused_between(10, 40) <= 0.1 * later
    assert max_in_any_second(run.attempts) <= 14
    reduced = [e for e in logs if e["event"] == "send_rate_reduced"]
    assert reduced and {e["cause"] for e in reduced} == {"limit"}


@pytest.mark.parametrize("start", [5.0, 5.4, 5.8])
def test_after_a_storm_the_rate_is_back_within_ten_seconds(start: float) -> None:
    """Every call throttled for 6 s (starting anywhere in a window): the rate falls and stays
    down while it lasts, is never taken for noise, and recovers once SES accepts again."""
    end = start + 6.0
    with capture_logs() as logs:
        run = drive(8, 30, lambda at, _accepted, _: not start <= at < end)
    during = [rate for at, rate in run.rates if start + 2.0 <= at < end]
    assert max(during) <= 4
    back = next(at for at, rate in run.rates if at >= end and rate >= 0.95 * 8)
    assert back - end <= 10.0
    assert max_in_any_second(run.attempts) <= 8
    events = [e["event"] for e in logs]
    assert "send_rate_reduced" in events and events[-1] == "send_rate_recovered"
    assert {e["cause"] for e in logs if e["event"] == "send_rate_reduced"} == {"storm"}
    assert "noise" not in [e.get("verdict") for e in logs]
    assert run.bucket.noise < 0.05


def test_the_rate_never_falls_below_its_floor() -> None:
    run = drive(14, 120, lambda *_: False)
    assert run.bucket.rate == pytest.approx(run.bucket.min_rate)
    assert 0 < run.bucket.min_rate < 14


def test_requests_in_flight_when_the_rate_fell_do_not_count() -> None:
    """Reports about requests started before a change are not judged against the new rate."""
    fake = FakeTime()
    bucket = TokenBucket(10, clock=fake.clock, sleep=fake.sleep)
    early = [bucket.take() for _ in range(5)]  # in flight
    for _ in range(10):  # a storm window
        bucket.throttled(bucket.take())
    assert bucket.rate == pytest.approx(5)
    for started in early * 4:  # late answers about the old requests
        assert bucket.throttled(started) is False
    assert bucket.rate == pytest.approx(5)


def test_recovery_is_slow_near_a_limit_and_fast_far_from_it() -> None:
    fake = FakeTime()
    bucket = TokenBucket(100, clock=fake.clock, sleep=fake.sleep)
    for _ in range(100):  # a storm: the rate halves
        bucket.throttled(bucket.take())
    assert bucket.rate == pytest.approx(50)
    bucket.succeeded()  # starts the recovery clock
    fake.now += 1.0
    bucket.succeeded()
    assert bucket.rate == pytest.approx(65)  # +15% of max per second of success
    fake.now += 30.0  # a long gap counts as one second at most
    bucket.succeeded()
    assert bucket.rate == pytest.approx(80)
    with capture_logs() as logs:
        while bucket.rate < 100:
            fake.now += 1.0
            bucket.succeeded()
    assert [e["event"] for e in logs] == ["send_rate_recovered"]


def test_a_reduced_rate_spaces_the_next_slots_further_apart() -> None:
    fake = FakeTime()
    bucket = TokenBucket(10, clock=fake.clock, sleep=fake.sleep)
    for _ in range(10):  # a storm: the rate halves
        bucket.throttled(bucket.take())
    times = [bucket.take() for _ in range(11)]
    assert max_in_any_second(times) <= 5


def test_the_pool_is_sized_from_rate_and_latency_and_bounded() -> None:
    assert concurrency_for(0.5) == 3
    assert concurrency_for(14) == 4
    assert concurrency_for(200) == 22
    assert concurrency_for(1_000_000) == MAX_CONCURRENCY


def test_a_1000_per_second_account_keeps_enough_sends_in_flight() -> None:
    # SES answering in 40 ms and two 5 ms ledger writes: 50 ms a recipient, 50 in flight at least
    assert concurrency_for(1000) >= 1000 * 0.050 * 1.5
    # every sending thread gets a connection of the shared SES and DynamoDB clients
    assert AwsClients().max_pool_connections > MAX_CONCURRENCY


def test_the_rate_comes_from_ses_then_config_then_the_default() -> None:
    assert choose_rate(from_ses=40.0, from_config=14.0) == (40.0, "ses")
    assert choose_rate(from_ses=None, from_config=14.0) == (14.0, "config")
    assert choose_rate(from_ses=0.0, from_config=None, default=2.0) == (2.0, "default")


@given(attempt=st.integers(min_value=0, max_value=1_000), jitter=st.floats(0.0, 1.0))
def test_backoff_is_bounded_and_never_zero(attempt: int, jitter: float) -> None:
    delay = Backoff(base=0.1, cap=5.0, jitter=lambda: jitter).delay(attempt)
    assert 0.05 <= delay <= 5.0

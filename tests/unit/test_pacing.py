"""The token bucket on a fake clock: never over the rate in any window, at rate, and AIMD."""

from __future__ import annotations

import threading
from bisect import bisect_left

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs

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
    """Threads that wake late (CPU contention) and AIMD moves still keep every window."""
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


def test_throttling_backs_off_multiplicatively_once_per_burst() -> None:
    fake = FakeTime()
    bucket = TokenBucket(100, clock=fake.clock, sleep=fake.sleep, decrease=0.7, cooldown=1.0)
    before_first = bucket.take()
    in_flight = bucket.take()
    with capture_logs() as logs:
        assert bucket.throttled(before_first) is True
    assert bucket.rate == pytest.approx(70)
    assert [e["event"] for e in logs] == ["send_rate_reduced"]
    assert logs[0]["rate"] == 70 and logs[0]["before"] == 100
    # the request that was already in flight when the rate fell tells nothing new
    assert bucket.throttled(in_flight) is False
    fake.now += 0.5
    assert bucket.throttled(bucket.take()) is False  # within the cooldown
    assert bucket.rate == pytest.approx(70)
    fake.now += 1.0
    assert bucket.throttled(bucket.take()) is True
    assert bucket.rate == pytest.approx(49)


def test_the_rate_never_falls_below_its_floor() -> None:
    fake = FakeTime()
    bucket = TokenBucket(14, clock=fake.clock, sleep=fake.sleep)
    for _ in range(40):
        fake.now += 2.0
        bucket.throttled(bucket.take())
    assert bucket.rate == pytest.approx(bucket.min_rate)
    assert 0 < bucket.min_rate < 14


def test_the_rate_recovers_additively_slowly_near_the_throttled_rate_and_caps_at_max() -> None:
    fake = FakeTime()
    bucket = TokenBucket(100, clock=fake.clock, sleep=fake.sleep, decrease=0.5)
    bucket.throttled(bucket.take())
    assert bucket.rate == pytest.approx(50)
    bucket.succeeded()  # starts the recovery clock
    fake.now += 1.0
    bucket.succeeded()
    assert bucket.rate == pytest.approx(55)  # +max/20 per second of success, far from 100
    fake.now += 30.0  # a long gap counts as one second at most
    bucket.succeeded()
    assert bucket.rate == pytest.approx(60)
    while bucket.rate < 90:
        fake.now += 1.0
        bucket.succeeded()
    near = bucket.rate
    fake.now += 1.0
    bucket.succeeded()
    assert bucket.rate - near == pytest.approx(0.5)  # within 10% of the throttled rate: 10x slower
    with capture_logs() as logs:
        for _ in range(40):
            fake.now += 1.0
            bucket.succeeded()
    assert bucket.rate == 100
    assert [e["event"] for e in logs] == ["send_rate_recovered"]


def test_a_reduced_rate_spaces_the_next_slots_further_apart() -> None:
    fake = FakeTime()
    bucket = TokenBucket(10, clock=fake.clock, sleep=fake.sleep, decrease=0.5)
    bucket.throttled(bucket.take())
    times = [bucket.take() for _ in range(11)]
    assert max_in_any_second(times) <= 5


def test_the_pool_is_sized_from_rate_and_latency_and_bounded() -> None:
    assert concurrency_for(0.5) == 3
    assert concurrency_for(14) == 4
    assert concurrency_for(200) == 22
    assert concurrency_for(1_000_000) == MAX_CONCURRENCY


def test_the_rate_comes_from_ses_then_config_then_the_default() -> None:
    assert choose_rate(from_ses=40.0, from_config=14.0) == (40.0, "ses")
    assert choose_rate(from_ses=None, from_config=14.0) == (14.0, "config")
    assert choose_rate(from_ses=0.0, from_config=None, default=2.0) == (2.0, "default")


@given(attempt=st.integers(min_value=0, max_value=1_000), jitter=st.floats(0.0, 1.0))
def test_backoff_is_bounded_and_never_zero(attempt: int, jitter: float) -> None:
    delay = Backoff(base=0.1, cap=5.0, jitter=lambda: jitter).delay(attempt)
    assert 0.05 <= delay <= 5.0

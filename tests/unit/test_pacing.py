"""The token bucket on a fake clock: never over the rate in any one-second window, yet at rate."""

from __future__ import annotations

from bisect import bisect_left

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from changecast.delivery.pacing import Backoff, TokenBucket, choose_rate


class FakeTime:
    """A monotonic clock that moves only when slept on (or by ``work`` per send)."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.slept = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
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
    return max(bisect_left(times, t + 1.0) - i for i, t in enumerate(times))


@settings(max_examples=60, deadline=None)
@given(
    rate=st.floats(min_value=0.5, max_value=500.0),
    work=st.floats(min_value=0.0, max_value=0.05),
)
def test_no_one_second_window_holds_more_than_the_rate(rate: float, work: float) -> None:
    times = send_times(rate, count=int(rate * 3) + 2, work=work)
    assert max_in_any_second(times) <= max(1, int(rate))


@pytest.mark.parametrize("rate", [1.0, 14.0, 50.0, 200.0])
def test_the_bucket_sends_at_the_full_rate_when_nothing_else_is_slow(rate: float) -> None:
    times = send_times(rate, count=int(rate * 10) + 1)
    achieved = (len(times) - 1) / (times[-1] - times[0])
    assert achieved == pytest.approx(rate, rel=1e-6)


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


def test_the_rate_comes_from_ses_then_config_then_the_default() -> None:
    assert choose_rate(from_ses=40.0, from_config=14.0) == (40.0, "ses")
    assert choose_rate(from_ses=None, from_config=14.0) == (14.0, "config")
    assert choose_rate(from_ses=0.0, from_config=None, default=2.0) == (2.0, "default")


@given(attempt=st.integers(min_value=0, max_value=1_000), jitter=st.floats(0.0, 1.0))
def test_backoff_is_bounded_and_never_zero(attempt: int, jitter: float) -> None:
    delay = Backoff(base=0.1, cap=5.0, jitter=lambda: jitter).delay(attempt)
    assert 0.05 <= delay <= 5.0

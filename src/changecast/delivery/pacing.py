"""Pacing: a token bucket at the customer account's SES max send rate that adapts to throttling.

Sends are spaced at least ``1 / rate`` apart (rounded down to whole sends, less a small headroom
for the moment between a slot and the request leaving), so no one-second window counted at
request start ever holds more than the account's rate. On throttling the rate backs off
multiplicatively and then recovers additively (AIMD), slowly near the rate that was throttled.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog

log = structlog.get_logger()

DEFAULT_RATE = 1.0
HEADROOM = 0.03
"""Sends are spaced for 97% of the rate: ~30 ms of slack per second (see ``CATCH_UP``)."""
CATCH_UP = 0.010
"""Lateness a slot may make up for (a thread that woke late). Any one-second window holds at
most ``1 + (1 + CATCH_UP + jitter) * rate * (1 - HEADROOM)`` starts, so CATCH_UP and the jitter
between a slot and its request leaving share the headroom's ~30 ms."""
DECREASE = 0.8
"""Multiplicative back-off on throttling: the rate becomes ``rate * DECREASE``."""
RECOVERY = 0.05
"""Additive recovery per second of success, as a share of the account's rate (+rate/20 /s)."""
PROBE_ZONE = 0.1
"""Within this share below the last throttled rate, recovery is ``PROBE_SLOWDOWN`` times slower."""
PROBE_SLOWDOWN = 10.0
MIN_SHARE = 0.1
"""The rate never falls below this share of the account's rate."""
COOLDOWN = 1.0
"""Seconds between two back-offs: SES counts its rate per second, so one throttled burst is one
signal, not many."""
LATENCY_BUDGET = 0.1
"""Seconds one recipient takes (ledger claim, SES call, ledger write), with margin."""
MAX_CONCURRENCY = 48
"""Below the SES client's connection pool (50), so no thread waits for a connection."""


def concurrency_for(rate: float) -> int:
    """Threads enough to fill ``rate`` when each recipient takes ``LATENCY_BUDGET`` seconds."""
    return max(1, min(MAX_CONCURRENCY, math.ceil(rate * LATENCY_BUDGET) + 2))


class TokenBucket:
    """Thread-safe; ``clock`` (monotonic seconds) and ``sleep`` are injectable for tests.

    ``take`` hands out send slots; ``throttled`` and ``succeeded`` report what a slot's request
    got, and move the rate between ``min_rate`` and ``max_rate``.
    """

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        headroom: float = HEADROOM,
        decrease: float = DECREASE,
        recovery: float = RECOVERY,
        cooldown: float = COOLDOWN,
    ) -> None:
        if not rate > 0 or math.isinf(rate):
            raise ValueError("rate must be a positive, finite number of sends per second")
        self.max_rate = math.floor(rate) if rate >= 1 else rate
        self.min_rate = self.max_rate * MIN_SHARE
        self.headroom = headroom
        self.decrease = decrease
        self.step = self.max_rate * recovery
        self.cooldown = cooldown
        self._rate = self.max_rate
        self._clock = clock
        self._sleep = sleep
        self._last = -math.inf  # the last slot handed out
        self._reduced_at = -math.inf
        self._grown_at = -math.inf
        self._ceiling = math.inf  # the rate last throttled at
        self._turn = threading.Lock()  # one taker at a time waits for the next slot
        self._state = threading.Lock()  # the rate and the last slot

    @property
    def rate(self) -> float:
        """The rate sends are paced at now (``max_rate`` unless throttling reduced it)."""
        return self._rate

    def _interval(self) -> float:
        return 1.0 / (self._rate * (1.0 - self.headroom))

    def take(self) -> float:
        """Block until a send may start; returns the slot (on ``clock``) the request starts at."""
        with self._turn:
            while True:
                with self._state:
                    now = self._clock()
                    due = self._last + self._interval()
                    if now >= due:
                        # a late slot (an oversleep) keeps the cadence, with at most CATCH_UP
                        # of credit: a long idle gap banks no burst
                        self._last = max(due, now - CATCH_UP)
                        return now
                self._sleep(due - now)  # the rate may change meanwhile: look again after

    def acquire(self) -> float:
        """Block until a send is allowed; returns the seconds waited."""
        asked = self._clock()
        return max(0.0, self.take() - asked)

    def throttled(self, started: float) -> bool:
        """SES throttled the request started at ``started``; True when this reduced the rate.

        Only a request started after the last reduction, and a cooldown later, counts: the
        requests already in flight at the old rate tell nothing new.
        """
        with self._state:
            now = self._clock()
            if started < self._reduced_at or now - self._reduced_at < self.cooldown:
                return False
            before = self._rate
            self._ceiling = before
            self._rate = max(self.min_rate, before * self.decrease)
            self._reduced_at = self._grown_at = now
            reduced = self._rate < before
        if reduced:
            log.warning("send_rate_reduced", rate=round(self._rate, 3), before=round(before, 3))
        return reduced

    def succeeded(self) -> None:
        """A request was accepted: recover towards ``max_rate`` (a second's growth at most)."""
        with self._state:
            if self._rate >= self.max_rate:
                return
            now = self._clock()
            elapsed = min(1.0, max(0.0, now - self._grown_at))
            self._grown_at = now
            if self._rate > self._ceiling:
                self._ceiling = math.inf  # past the old limit: it is gone, recover fast
            near = self._rate >= self._ceiling * (1.0 - PROBE_ZONE)
            step = self.step / PROBE_SLOWDOWN if near else self.step
            self._rate = min(self.max_rate, self._rate + step * elapsed)
            recovered = self._rate >= self.max_rate
        if recovered:
            log.info("send_rate_recovered", rate=self.max_rate)


def choose_rate(
    *, from_ses: float | None, from_config: float | None, default: float = DEFAULT_RATE
) -> tuple[float, str]:
    """The send rate and where it came from: SES, then config.json, then a safe default."""
    if from_ses is not None and from_ses > 0:
        return from_ses, "ses"
    if from_config is not None and from_config > 0:
        return from_config, "config"
    return default, "default"


@dataclass
class Backoff:
    """Bounded exponential back-off with full jitter: ``uniform(0, min(cap, base * 2**n))``."""

    base: float = 0.1
    cap: float = 5.0
    jitter: Callable[[], float] = field(default=random.random)

    def delay(self, attempt: int) -> float:
        ceiling = min(self.cap, self.base * (2.0 ** min(attempt, 30)))
        return max(self.base / 2, ceiling * self.jitter())

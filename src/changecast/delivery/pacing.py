"""Pacing: a token bucket at the customer account's SES max send rate, and throttling back-off.

The bucket holds one token and refills at ``rate`` per second (rounded down to whole sends), so
sends are at least ``1/rate`` apart and no one-second window ever holds more than ``rate``.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

DEFAULT_RATE = 1.0
SPACING_MARGIN = 1e-9  # rounding must never fit rate + 1 sends into one second


class TokenBucket:
    """Thread-safe; ``clock`` (monotonic seconds) and ``sleep`` are injectable for tests."""

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not rate > 0 or math.isinf(rate):
            raise ValueError("rate must be a positive, finite number of sends per second")
        self.rate = math.floor(rate) if rate >= 1 else rate
        self.interval = (1.0 / self.rate) * (1 + SPACING_MARGIN)
        self._clock = clock
        self._sleep = sleep
        self._next = -math.inf
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Block until a send is allowed; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            wait = max(0.0, self._next - now)
            if wait > 0:
                self._sleep(wait)
                now = max(self._clock(), self._next)
            self._next = now + self.interval
            return wait


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

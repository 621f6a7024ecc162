"""Pacing: a token bucket at the customer account's SES max send rate that adapts to throttling.

Sends are spaced at least ``1 / rate`` apart (rounded down to whole sends, less a small headroom
for the moment between a slot and the request leaving), so no one-second window counted at
request start ever holds more than the account's rate. The bucket stays that hard cap; a
controller on top moves the rate between a floor and the account's rate.

The controller tells noise from a limit. It judges the requests of one short window at a time
(about a second of sends, at least ``MIN_SAMPLES``), counting only requests started since its
last change. Isolated throttling changes nothing: a window counts only when its throttled share
exceeds the share known to be noise by a margin (``MARGIN``, or two standard errors, if more),
and the controller acts on one such window while no noise is known (or past a limit found), on
``SUSTAINED`` in a row once it is. Then:

- a storm (``STORM`` or more of a window throttled) halves the rate, window after window;
- past a limit already found, the rate falls back to what SES accepted;
- otherwise the controller tests: for a double window it sends at half the rate, or below what
  SES accepted if that is less. If the throttled share falls (a one-sided two-proportion test at
  ``Z_NO_NOISE``, or ``Z_NOISE_KNOWN`` where noise is known), throttling follows the rate: a
  limit, and the rate becomes what SES accepted, less the noise left at the test. If it does not,
  the throttling is noise the rate cannot help: the rate goes back, and the share seen becomes
  the known noise (which later quiet windows adjust); unless it is ``HEAVY``, then the rate stays
  backed off.

Between changes the rate recovers additively on success (``RECOVERY`` of the account's rate per
second, from the floor to the account's rate in under 10 s), ``PROBE_SLOWDOWN`` times slower
near a limit found. ``send_rate_reduced`` is logged when the rate falls for a limit or a storm,
``send_rate_recovered`` when it is back at the account's rate, ``send_rate_probe`` for a test
and its verdict.
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
WINDOW = 1.0
"""Seconds of requests (at the current rate) one verdict looks at."""
MIN_SAMPLES = 10
"""A verdict needs at least this many requests (a low rate waits up to ``MAX_WINDOW``)."""
MAX_WINDOW = 5.0
"""A window closes after this long with at least ``MIN_CLOSE`` requests, however few."""
MIN_CLOSE = 2
MARGIN = 0.1
"""A window triggers when its throttled share exceeds the known noise by this (or by two
standard errors of the noise, if more)."""
SUSTAINED = 3
"""Windows in a row over the margin before the controller acts (a storm acts at once)."""
STORM = 0.9
"""A window this throttled is a storm or an outage: the rate halves at once."""
HEAVY = 0.6
"""A test this throttled that did not fall is not noise either: the rate stays backed off."""
DECREASE = 0.5
"""The rate during a test, and after each storm window, as a share of the rate before."""
RECOVERY = 0.15
"""Additive recovery per second of success, as a share of the account's rate (+rate*0.15 /s)."""
PROBE_ZONE = 0.1
"""Below a limit found by this share, and up to ``LIMIT_ZONE`` above it, recovery is
``PROBE_SLOWDOWN`` times slower: the rate creeps towards the limit instead of jumping past it."""
LIMIT_ZONE = 0.5
"""Past the limit found by this share without throttling, the limit is gone (fast again)."""
PROBE_SLOWDOWN = 20.0
NOISE_WEIGHT = 0.1
"""How far each quiet window moves the known noise towards its own throttled share."""
PROBE_WINDOWS = 2
"""A test's window is this many windows long: its verdict needs the samples."""
MAX_PROBE_WINDOW = 6.0
"""A test ends after this long with at least ``MIN_CLOSE`` requests, however few."""
FLOOR_SHARE = 0.02
"""Below this share no noise is known."""
Z_NO_NOISE = 1.645
"""A test reads as a limit when its share fell this many standard errors (95%, one-sided)..."""
Z_NOISE_KNOWN = 2.33
"""... or this many where noise is known (99%): noisy windows in a row are the likelier cause."""
MIN_SHARE = 0.1
"""The rate never falls below this share of the account's rate."""
LATENCY_BUDGET = 0.1
"""Seconds one recipient takes (ledger claim, SES call, ledger write), with margin."""
MAX_CONCURRENCY = 128
"""Enough for 1,000 sends a second at ~100 ms a recipient; below the AWS clients' connection
pool (``aws.sessions.AwsClients.max_pool_connections``), so no thread waits for a connection."""


def _fell(before: float, seen_before: int, after: float, seen_after: int) -> float:
    """How many standard errors the share ``after`` lies below ``before`` (two proportions)."""
    pooled = (before * seen_before + after * seen_after) / (seen_before + seen_after)
    spread = math.sqrt(max(pooled * (1.0 - pooled), 1e-9) * (1 / seen_before + 1 / seen_after))
    return (before - after) / spread


def concurrency_for(rate: float) -> int:
    """Threads enough to fill ``rate`` when each recipient takes ``LATENCY_BUDGET`` seconds."""
    return max(1, min(MAX_CONCURRENCY, math.ceil(rate * LATENCY_BUDGET) + 2))


@dataclass
class _Probe:
    """A test in progress: the rate and throttled share before it."""

    rate: float
    share: float
    seen: int


class TokenBucket:
    """Thread-safe; ``clock`` (monotonic seconds) and ``sleep`` are injectable for tests.

    ``take`` hands out send slots; ``throttled`` and ``succeeded`` report what a slot's request
    got (with the slot ``take`` returned), and move the rate between ``min_rate`` and
    ``max_rate`` (see the module's text).
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
    ) -> None:
        if not rate > 0 or math.isinf(rate):
            raise ValueError("rate must be a positive, finite number of sends per second")
        self.max_rate = math.floor(rate) if rate >= 1 else rate
        self.min_rate = self.max_rate * MIN_SHARE
        self.headroom = headroom
        self.decrease = decrease
        self.step = self.max_rate * recovery
        self.reductions = 0
        """How many times the rate fell for a limit or a storm (tests excluded)."""
        self._rate = self.max_rate
        self._clock = clock
        self._sleep = sleep
        self._last = -math.inf  # the last slot handed out
        self._epoch = -math.inf  # the last rate change: requests started before it don't count
        self._grown_at = -math.inf
        self._opened = -math.inf  # when the current window's first request was reported
        self._seen = 0  # requests in the current window
        self._refused = 0  # of which throttled
        self._over: list[tuple[int, int]] = []  # windows in a row over the margin: (seen, refused)
        self._noise = 0.0  # the throttled share known to be noise
        self._limit: float | None = None  # the rate SES accepted when a limit was found
        self._probe: _Probe | None = None
        self._stormy = False  # the last window was a storm's
        self._last_share = 0.0  # the last window's throttled share (for the log)
        self._turn = threading.Lock()  # one taker at a time waits for the next slot
        self._state = threading.Lock()  # the rate, the last slot and the window

    @property
    def rate(self) -> float:
        """The rate sends are paced at now (``max_rate`` unless throttling reduced it)."""
        return self._rate

    @property
    def noise(self) -> float:
        """The throttled share the controller takes for noise (0 until a test shows some)."""
        return self._noise

    @property
    def limit(self) -> float | None:
        """The rate SES accepted when throttling last followed the rate (None: no limit known)."""
        return self._limit

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
        """SES throttled the request started at ``started``; True when the rate fell for it."""
        return self._report(started, refused=True)

    def succeeded(self, started: float | None = None) -> bool:
        """SES accepted the request started at ``started`` (default: now).

        True when this closed a window that made the rate fall (a window judges both outcomes).
        """
        return self._report(started, refused=False)

    # -- the controller ----------------------------------------------------------------------
    def _report(self, started: float | None, *, refused: bool) -> bool:
        with self._state:
            now = self._clock()
            before = self._rate
            if not refused:
                self._grow(now)
            event: str | None = None
            reference: float | None = None
            grown = self._rate
            if started is None or started >= self._epoch:  # else: in flight at the old rate
                event, reference, grown = self._count(now, refused=refused)
        if event is None:
            self._recovered(before, grown)
            return False
        return self._log(event, reference or before, grown, self._last_share)

    def _count(self, now: float, *, refused: bool) -> tuple[str | None, float | None, float]:
        """Add one request to the window; judge the window when it is full.

        Returns the verdict (for the log), the rate it was judged against, and the rate now.
        """
        if self._seen == 0:
            self._opened = now
        self._seen += 1
        self._refused += int(refused)
        scale = PROBE_WINDOWS if self._probe is not None else 1
        needed = scale * max(MIN_SAMPLES, math.ceil(self._rate * WINDOW))
        longest = MAX_PROBE_WINDOW if self._probe is not None else MAX_WINDOW
        enough = self._seen >= needed or (now - self._opened >= longest and self._seen >= MIN_CLOSE)
        if not enough:
            return None, None, self._rate
        seen, refused_count = self._seen, self._refused
        self._seen = self._refused = 0
        self._last_share = refused_count / seen
        event, reference = self._judge(seen, refused_count, now)
        return event, reference, self._rate

    def _judge(  # noqa: PLR0911 - one return per verdict
        self, seen: int, refused: int, now: float
    ) -> tuple[str | None, float | None]:
        """One window's verdict: what happened to the rate (for the log), and the rate.

        The rate is the one judged against when not the rate before; (None, None): no change.
        """
        share = refused / seen
        noise = self._noise
        error = math.sqrt(noise * (1.0 - noise) / seen)  # the noise's standard error
        if self._probe is not None:
            return self._verdict(self._probe, seen, refused, now)
        if share >= STORM:
            self._over.clear()
            self._stormy = True
            self._change(self._rate * self.decrease, now)
            return "storm", None
        if self._stormy:  # the window a storm ended in tells nothing about noise or a limit
            self._stormy = False
            return None, None
        above = self._limit is not None and self._rate > self._limit
        margin = max(MARGIN, 2.0 * error)
        if share - noise <= margin:
            self._over.clear()
            if not above:
                self._noise += NOISE_WEIGHT * (share - noise)
            return None, None
        self._over.append((seen, refused))
        # past a limit found, or while no noise is known, one window is evidence enough
        if len(self._over) < (1 if above or noise < FLOOR_SHARE else SUSTAINED):
            return None, None
        total = sum(n for n, _ in self._over)
        pooled = sum(r for _, r in self._over) / total
        self._over.clear()
        excess = pooled - noise
        if above and self._limit is not None:
            expected = 1.0 - self._limit / self._rate  # the share the limit alone explains
            spread = 2.0 * math.sqrt(max(expected, MARGIN / 2) * (1.0 - expected) / seen)
            if excess <= expected + spread:  # past a limit found: back to what SES took
                self._limit = (self._limit + (1.0 - excess) * self._rate) / 2
                self._change(self._limit, now)
                return "limit", None
        self._probe = _Probe(rate=self._rate, share=pooled, seen=total)
        below = self._rate * (1.0 - pooled) * (1.0 - MARGIN)  # under what SES accepted
        self._change(min(self._rate * self.decrease, below), now)
        return "probe", None

    def _verdict(
        self, probe: _Probe, seen: int, refused: int, now: float
    ) -> tuple[str, float | None]:
        """After a test window: whether the throttled share fell with the rate."""
        self._probe = None
        share = refused / seen
        if share >= STORM:
            self._stormy = True
            self._change(self._rate * self.decrease, now)
            return "storm", None
        # did the share fall, beyond chance, from what set the test off? (one-sided z-test; with
        # noise known, a few noisy windows in a row are a likelier cause: ask for more)
        z = Z_NOISE_KNOWN if self._noise >= FLOOR_SHARE else Z_NO_NOISE
        if _fell(probe.share, probe.seen, share, seen) >= z:
            # a limit: what is left at the test is the noise, SES accepted the rest
            known = self._noise >= FLOOR_SHARE
            self._noise = (self._noise + share) / 2 if known else share
            self._limit = (1.0 - max(0.0, probe.share - self._noise)) * probe.rate
            self._change(self._limit, now)
            return "limit", probe.rate
        if share >= HEAVY:  # it did not, but most calls fail: sustained, stay backed off
            self._change(self._rate, now)
            return "storm", probe.rate
        # it did not: noise the rate cannot help, its share from the test and what set it off
        self._noise = (refused + probe.share * probe.seen) / (seen + probe.seen)
        self._limit = None
        self._change(probe.rate, now)
        return "noise", None

    def _change(self, rate: float, now: float) -> None:
        self._rate = min(self.max_rate, max(self.min_rate, rate))
        self._epoch = self._grown_at = now
        self._seen = self._refused = 0

    def _grow(self, now: float) -> None:
        """A request was accepted: recover towards ``max_rate`` (a second's growth at most)."""
        elapsed = min(1.0, max(0.0, now - self._grown_at))
        self._grown_at = now
        if self._probe is not None or self._rate >= self.max_rate:
            return
        step = self.step
        if self._limit is not None:
            if self._rate > self._limit * (1.0 + LIMIT_ZONE):
                self._limit = None  # well past it without throttling: it is gone
            elif self._rate >= self._limit * (1.0 - PROBE_ZONE):
                step /= PROBE_SLOWDOWN
        self._rate = min(self.max_rate, self._rate + step * elapsed)

    def _log(self, event: str | None, before: float, after: float, share: float) -> bool:
        """Log what a verdict did; True when the rate fell for a limit or a storm."""
        reduced = event in {"storm", "limit"} and after < before
        if reduced:
            self.reductions += 1
            log.warning(
                "send_rate_reduced",
                rate=round(after, 3),
                before=round(before, 3),
                cause=event,
                throttled_share=round(share, 3),
            )
        elif event in {"probe", "noise", "limit"}:
            log.info(
                "send_rate_probe",
                verdict={"probe": "testing", "noise": "noise", "limit": "limit"}[event],
                rate=round(after, 3),
                before=round(before, 3),
                throttled_share=round(share, 3),
            )
        self._recovered(before, after)
        return reduced

    def _recovered(self, before: float, after: float) -> None:
        if after >= self.max_rate > before:
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

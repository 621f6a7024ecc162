"""Benchmark the real send loop at the account's SES rate: throughput, windows, throttling.

Run: ``uv run python -m bench.delivery_throughput [--quick] [--only rate,shared,noise,...]``.

Every run is ``delivery.service.deliver`` (render, audience, the concurrent ``Sender``, the
adaptive ``TokenBucket``) against an SES fake that answers in 40 ms and the in-memory ledger
behind 5 ms per call. Scenarios:

- rate: 1,000 recipients at 14/s and 200/s: achieved ÷ rate ≥ 0.95, no one-second window of
  request starts above the rate, every recipient sent exactly once.
- shared: the account reports 14/s but SES accepts only 8/s (a sliding one-second window, as
  if another sender used the rest): after 5 s, accepted ÷ 8/s ≥ 0.9; throttled ≤ 10% of sends.
- chaos: 30% of calls throttled at random: everything delivered once, nothing failed or
  dead-lettered, attempts never above the rate in any window.
- noise: 30% of calls throttled at random at 8/s (SES takes 5.6/s): accepted ÷ (8 * 0.7) ≥ 0.8
  (isolated throttling must not collapse the rate).
- storm: at 8/s, every call throttled for 6 s: the pacing rate is back at ≥ 95% of 8/s within
  10 s after the storm ends.
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
import threading
import time
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import structlog
from rich.console import Console
from rich.table import Table

if __package__ in {None, ""}:  # run as a script: the repository root holds ``tests.fakes``
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.delivery_support import many_contacts, stored_change
from tests.fakes.ledger import MemoryLedger
from tests.fakes.metrics import MemoryMetrics
from tests.fakes.store import MemoryObjectStore

from changecast.changes.models import ChangeStatus
from changecast.delivery.ledger import Claim, LedgerEntry, LedgerKey, LedgerState
from changecast.delivery.models import ExecutionRecord
from changecast.delivery.pacing import HEADROOM, concurrency_for
from changecast.delivery.ports import ContactSource
from changecast.delivery.service import DeliveryDeps, DeliveryRequest, deliver, delivery_key
from changecast.distribution.models import DistributionEvent
from changecast.errors import UpstreamError
from changecast.local.demo import demo_config
from changecast.metrics import names
from changecast.ports import SystemClock

SES_LATENCY = 0.040
LEDGER_LATENCY = 0.005
TARGET_RATIO = 0.95
TARGET_SHARED = 0.9
TARGET_THROTTLED = 0.10
TARGET_NOISE = 0.8
TARGET_RECOVERY = 10.0
STORM_START = 3.0
STORM_SECONDS = 6.0
WARM_UP = 5.0
SHORTCUTS = (
    "Shortcuts: SES is an in-process fake (time.sleep 40 ms per call, counting at request "
    "start); the ledger is tests/fakes/ledger.MemoryLedger (DynamoDB's conditional-write "
    "semantics) behind time.sleep 5 ms per call; contacts and the object store are in memory. "
    "The send loop itself is the real one: delivery.service.deliver."
)
console = Console(width=150)


@dataclass
class TimedSes:
    """A MailPort that answers after ``latency``; ``capacity`` models SES's own per-second limit.

    A call is throttled when ``capacity`` calls were accepted in the second before it started,
    or at random with ``throttle_ratio``. Starts are stamped under a lock, so they are ordered.
    """

    reported_rate: float
    latency: float = SES_LATENCY
    capacity: int | None = None
    throttle_ratio: float = 0.0
    storm: tuple[float, float] | None = None
    """Seconds after the first call during which every call is throttled: [start, end)."""
    seed: int = 1
    attempts: list[float] = field(default_factory=list)
    accepted: list[float] = field(default_factory=list)
    throttled: list[float] = field(default_factory=list)
    delivered: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def _call(self, to: str) -> str:
        with self._lock:
            start = time.monotonic()
            self.attempts.append(start)
            refused = self._random.random() < self.throttle_ratio
            if self.storm is not None and self.attempts:
                since = start - self.attempts[0]
                refused |= self.storm[0] <= since < self.storm[1]
            if not refused and self.capacity is not None:
                recent = len(self.accepted) - bisect_left(self.accepted, start - 1.0)
                refused = recent >= self.capacity
            if refused:
                self.throttled.append(start)
            else:
                self.accepted.append(start)
                self.delivered[to] += 1
            number = len(self.attempts)
        time.sleep(self.latency)
        if refused:
            raise UpstreamError(
                "SendEmail failed: TooManyRequestsException: Maximum sending rate exceeded.",
                retryable=True,
                code="TooManyRequestsException",
                throttled=True,
            )
        return f"bench-{number:06d}"

    def send_email(self, *, to: str, **_: Any) -> str:
        return self._call(to)

    def send_raw(self, *, to: str, **_: Any) -> str:
        return self._call(to)

    def max_send_rate(self) -> float | None:
        return self.reported_rate


@dataclass
class SlowLedger:
    """The in-memory ledger, each call delayed as DynamoDB would (one round trip)."""

    inner: MemoryLedger = field(default_factory=MemoryLedger)
    latency: float = LEDGER_LATENCY
    calls: int = 0

    def _wait(self) -> None:
        self.calls += 1
        time.sleep(self.latency)

    def claim(
        self, key: LedgerKey, *, topic: str, owner: str, now: datetime, lease: timedelta
    ) -> Claim:
        self._wait()
        return self.inner.claim(key, topic=topic, owner=owner, now=now, lease=lease)

    def mark_sent(self, key: LedgerKey, *, message_id: str, now: datetime) -> None:
        self._wait()
        self.inner.mark_sent(key, message_id=message_id, now=now)

    def mark_failed(self, key: LedgerKey, *, reason: str, now: datetime) -> None:
        self._wait()
        self.inner.mark_failed(key, reason=reason, now=now)

    def release(self, key: LedgerKey, *, now: datetime) -> None:
        self._wait()
        self.inner.release(key, now=now)

    def entries(self, partition: str) -> list[LedgerEntry]:
        return self.inner.entries(partition)

    def entries_for(self, change_id: str, customer_code: str) -> list[LedgerEntry]:
        return self.inner.entries_for(change_id, customer_code)

    def mark_suppressed(self, key: LedgerKey, *, topic: str, reason: str, now: datetime) -> None:
        self._wait()
        self.inner.mark_suppressed(key, topic=topic, reason=reason, now=now)


@dataclass
class Account:
    mailer: TimedSes
    source: ContactSource

    def mail(self) -> TimedSes:
        return self.mailer

    def contacts(self) -> ContactSource:
        return self.source


@dataclass
class Run:
    """What one delivery did, as SES and the ledger saw it."""

    rate: float
    recipients: int
    ses: TimedSes
    record: ExecutionRecord | None
    error: str | None
    wall: float
    sent_in_ledger: int
    metrics: MemoryMetrics
    rates: list[tuple[float, float]] = field(default_factory=list)
    """(monotonic time, the bucket's pacing rate), sampled every 10 ms."""
    ledger: SlowLedger | None = None

    @property
    def once_each(self) -> bool:
        counts = self.ses.delivered
        return len(counts) == self.recipients and set(counts.values()) == {1}

    @property
    def achieved(self) -> float:
        """Sends per second from the first request's start to the last one's."""
        starts = self.ses.accepted
        return (len(starts) - 1) / (starts[-1] - self.ses.attempts[0])

    def worst_window(self) -> int:
        return max_in_any_second(self.ses.attempts)

    @property
    def rate_reduced(self) -> float:
        return self.metrics.total(names.SEND_RATE_REDUCED)


def max_in_any_second(starts: list[float]) -> int:
    """The most request starts in any window [t, t + 1 s)."""
    ordered = sorted(starts)
    return max((bisect_left(ordered, t + 1.0) - i for i, t in enumerate(ordered)), default=0)


def run(
    ses: TimedSes,
    recipients: int,
    *,
    sample: bool = False,
    source: ContactSource | None = None,
    before: Callable[[], None] | None = None,
) -> Run:
    """Deliver to ``recipients`` contacts (``source``, else an in-memory list of that many).

    ``before`` is called just before ``deliver`` (after every fake is built).
    """
    config = demo_config(1, portal_url="http://portal.test")
    mapping = config.customer_mappings["acme"]
    ledger = SlowLedger()
    metrics = MemoryMetrics()
    deps = DeliveryDeps(
        customer=mapping,
        email_config=config.email_config,
        store=MemoryObjectStore(),
        ses=Account(ses, source or many_contacts(mapping, recipients)),
        ledger=ledger,
        clock=SystemClock(),
        owner="bench",
        sleep=time.sleep,
        metrics=metrics,
    )
    rates: list[tuple[float, float]] = []
    done = threading.Event()
    if sample:  # the real bucket, made here so that its rate can be watched
        bucket = deps.pacing(ses)

        def watch() -> None:
            while not done.wait(0.01):
                rates.append((time.monotonic(), bucket.rate))

        threading.Thread(target=watch, daemon=True).start()
    request = DeliveryRequest.for_change(
        stored_change(status=ChangeStatus.COMPLETED), DistributionEvent.COMPLETED
    )
    record, error = None, None
    if before is not None:
        before()
    started = time.monotonic()
    try:
        record = deliver(request, deps=deps, stop=threading.Event())
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
    wall = time.monotonic() - started
    done.set()
    metrics.flush()
    partition = delivery_key(request, "acme").partition
    sent = sum(1 for e in ledger.entries(partition) if e.state is LedgerState.SENT)
    rate = deps.bucket.max_rate if deps.bucket else 0.0
    return Run(rate, recipients, ses, record, error, wall, sent, metrics, rates, ledger)


Row = tuple[str, str, str, str, bool]


def check(scenario: str, figure: str, target: str, value: str, ok: bool) -> Row:
    return (scenario, figure, target, value, ok)


def exact_rows(name: str, result: Run) -> list[Row]:
    """Correctness figures every scenario must meet."""
    record = result.record
    delivered = record is not None and record.sent == result.recipients and record.failed == 0
    return [
        check(
            name,
            "sent exactly once each (SES side)",
            f"{result.recipients} x 1",
            f"{len(result.ses.delivered)} recipients, max {max(result.ses.delivered.values())}x",
            result.once_each,
        ),
        check(
            name,
            "delivered, none failed, not dead-lettered",
            f"sent={result.recipients} failed=0",
            result.error
            or f"sent={record.sent if record else '-'} failed={record.failed if record else '-'}"
            f" ledger sent={result.sent_in_ledger}",
            delivered and result.error is None and result.sent_in_ledger == result.recipients,
        ),
        check(
            name,
            "max attempts in any 1 s (at start)",
            f"≤ {result.rate:g}",
            str(result.worst_window()),
            result.worst_window() <= result.rate,
        ),
    ]


def rate_scenario(rate: float, recipients: int) -> list[Row]:
    result = run(TimedSes(reported_rate=rate), recipients)
    name = f"rate {rate:g}/s, {recipients} rcpt, {concurrency_for(rate)} threads"
    ratio = result.achieved / rate
    whole = len(result.ses.accepted) / result.wall / rate
    return [
        check(
            name,
            "achieved ÷ rate (first to last request start)",
            f"≥ {TARGET_RATIO}",
            f"{ratio:.3f} ({result.achieved:.1f}/s)",
            ratio >= TARGET_RATIO,
        ),
        check(
            name,
            "(info) sends ÷ wall of deliver() ÷ rate",
            "-",
            f"{whole:.3f} ({result.wall:.2f} s incl. render, contacts, last response)",
            True,
        ),
        *exact_rows(name, result),
    ]


def shared_scenario(recipients: int) -> list[Row]:
    ses = TimedSes(reported_rate=14, capacity=8)
    result = run(ses, recipients)
    name = f"shared: reports 14/s, accepts 8/s, {recipients} rcpt"
    start = ses.attempts[0] + WARM_UP
    late = [t for t in ses.accepted if t >= start]
    span = max(late[-1] - start, 1e-9) if late else 1e-9
    shared = len(late) / span / 8
    throttled = len(ses.throttled) / max(1, len(ses.accepted))
    late_throttled = sum(1 for t in ses.throttled if t >= start) / max(1, len(late))
    rows = [
        check(
            name,
            f"accepted ÷ 8/s after {WARM_UP:g} s",
            f"≥ {TARGET_SHARED}",
            f"{shared:.3f} ({len(late)} in {span:.1f} s)",
            shared >= TARGET_SHARED,
        ),
        check(
            name,
            "throttled attempts ÷ sends (whole run)",
            f"≤ {TARGET_THROTTLED:.0%}",
            f"{throttled:.1%} ({len(ses.throttled)} of {len(ses.accepted)}; "
            f"after {WARM_UP:g} s {late_throttled:.1%}; rate backed off {result.rate_reduced:g}x)",
            throttled <= TARGET_THROTTLED,
        ),
    ]
    return rows + exact_rows(name, result)


def chaos_scenario(rate: float, recipients: int) -> list[Row]:
    ses = TimedSes(reported_rate=rate, throttle_ratio=0.3, seed=30)
    result = run(ses, recipients)
    name = f"chaos: 30% throttled at {rate:g}/s, {recipients} rcpt"
    info = check(
        name,
        "(info) attempts, throttled, wall, back-offs",
        "-",
        f"{len(ses.attempts)} attempts, {len(ses.throttled)} throttled, {result.wall:.1f} s, "
        f"rate backed off {result.rate_reduced:g}x",
        True,
    )
    return [*exact_rows(name, result), info]


def noise_scenario(rate: float, recipients: int) -> list[Row]:
    ses = TimedSes(reported_rate=rate, throttle_ratio=0.3, seed=31)
    result = run(ses, recipients)
    name = f"noise: 30% throttled at random at {rate:g}/s, {recipients} rcpt"
    span = max(ses.accepted[-1] - ses.attempts[0], 1e-9)
    accepted = (len(ses.accepted) - 1) / span
    ratio = accepted / (rate * 0.7)
    return [
        check(
            name,
            "accepted ÷ (rate * 0.7)",
            f"≥ {TARGET_NOISE}",
            f"{ratio:.3f} ({accepted:.2f}/s of {rate * 0.7:g}/s SES would take)",
            ratio >= TARGET_NOISE,
        ),
        check(
            name,
            "(info) attempts, throttled, rate cuts",
            "-",
            f"{len(ses.attempts)} attempts, {len(ses.throttled)} throttled "
            f"({len(ses.throttled) / len(ses.attempts):.0%}), rate cut {result.rate_reduced:g}x",
            True,
        ),
        *exact_rows(name, result),
    ]


def storm_scenario(rate: float, recipients: int) -> list[Row]:
    storm = (STORM_START, STORM_START + STORM_SECONDS)
    ses = TimedSes(reported_rate=rate, storm=storm)
    result = run(ses, recipients, sample=True)
    name = f"storm: all throttled {STORM_SECONDS:g} s at {rate:g}/s, {recipients} rcpt"
    ended = ses.attempts[0] + storm[1]
    after = [(t, r) for t, r in result.rates if t >= ended]
    lowest = min((r for _, r in result.rates), default=rate)
    back = next((t - ended for t, r in after if r >= 0.95 * rate), None)
    shown = "not within the run" if back is None else f"{back:.1f} s"
    rows = [
        check(
            name,
            "pacing rate ≥ 95% of rate, after the storm",
            f"≤ {TARGET_RECOVERY:g} s",
            f"{shown} (lowest {lowest:.2f}/s, at the end {after[-1][1] if after else rate:.2f}/s)",
            back is not None and back <= TARGET_RECOVERY,
        ),
    ]
    if back is not None:
        since = ended + back
        window = [t for t in ses.accepted if since <= t < since + 2.0]
        rows.append(
            check(
                name,
                "(info) SES accepted in the 2 s after that ÷ rate",
                "-",
                f"{len(window) / 2.0 / rate:.3f} ({len(window)} in 2 s; the bucket keeps "
                f"{HEADROOM:.0%} headroom)",
                True,
            )
        )
    return rows + exact_rows(name, result)


SCENARIOS: dict[str, Callable[[bool], list[Row]]] = {
    "rate": lambda quick: rate_scenario(14, 150 if quick else 1000) + rate_scenario(200, 1000),
    "shared": lambda quick: shared_scenario(120 if quick else 200),
    "chaos": lambda quick: chaos_scenario(200, 300 if quick else 1000),
    "noise": lambda quick: noise_scenario(8, 200 if quick else 400),
    "storm": lambda _quick: storm_scenario(8, 200),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer recipients at 14/s and 8/s")
    parser.add_argument("--only", default=",".join(SCENARIOS), help="rate,shared,chaos,noise,storm")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(chosen) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios {sorted(unknown)}; choose from {list(SCENARIOS)}")
    table = Table(title="Delivery throughput: the real send loop, fake SES 40 ms, ledger 5 ms")
    for column in ("scenario", "figure", "target", "measured", "result"):
        table.add_column(column, justify="left" if column != "result" else "right")
    failed = False
    started = time.monotonic()
    run(TimedSes(reported_rate=1000, latency=0.0), 20)  # warm up: imports, templates, threads
    for name in chosen:
        for row in SCENARIOS[name](args.quick):
            *cells, ok = row
            failed |= not ok
            table.add_row(*cells, "[green]PASS[/green]" if ok else "[red]FAIL[/red]")
    console.print(table)
    console.print(SHORTCUTS)
    console.print(f"total {time.monotonic() - started:.0f} s")
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()

"""Benchmark the token bucket in real time: achieved rate / configured rate, and the worst second.

Run: ``uv run python bench/pacing.py [--seconds 3]``. PASS when the ratio is at least 0.95 and no
sliding one-second window holds more sends than the rate.
"""

from __future__ import annotations

import argparse
import time
from bisect import bisect_left

from rich.console import Console
from rich.table import Table

from changecast.delivery.pacing import TokenBucket

RATES = (1.0, 14.0, 50.0, 200.0)
TARGET_RATIO = 0.95
console = Console()


def send_times(rate: float, seconds: float, call_cost: float) -> list[float]:
    """Acquire for ``seconds``; each 'send' then takes ``call_cost`` (a fake SES call)."""
    bucket = TokenBucket(rate)
    times: list[float] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        bucket.acquire()
        times.append(time.monotonic())
        if call_cost:
            time.sleep(call_cost)
    return times


def worst_second(times: list[float]) -> int:
    return max(bisect_left(times, t + 1.0) - i for i, t in enumerate(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--call-ms", type=float, default=1.0, help="simulated SES call time")
    args = parser.parse_args()
    table = Table(title="Pacing: token bucket at the SES max send rate (real clock)")
    for column in ("rate/s", "sends", "achieved/s", "ratio", "max in any 1 s", "result"):
        table.add_column(column, justify="right")
    failed = False
    for rate in RATES:
        seconds = max(args.seconds, 4.0 / rate)
        times = send_times(rate, seconds, args.call_ms / 1000)
        achieved = (len(times) - 1) / (times[-1] - times[0])
        ratio = achieved / rate
        worst = worst_second(times)
        ok = ratio >= TARGET_RATIO and worst <= rate
        failed |= not ok
        table.add_row(
            f"{rate:g}",
            str(len(times)),
            f"{achieved:.2f}",
            f"{ratio:.3f}",
            str(worst),
            "[green]PASS[/green]" if ok else "[red]FAIL[/red]",
        )
    console.print(table)
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()

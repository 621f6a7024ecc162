"""Benchmark a large account: the real send loop at 1,000 emails a second, 10,000 recipients.

Run: ``uv run python -m bench.large_account [--recipients 10000] [--small 100]``.

Each figure comes from a fresh subprocess (one per list size and measure), running
``delivery.service.deliver`` with ``bench.delivery_throughput``'s fakes: SES answering in 40 ms
(``TimedSes``, reporting 1,000/s), the ledger behind 5 ms a call (``SlowLedger``). The contact
list is read through the real ``SesContactListAdapter`` from a stand-in SESv2 client that pages
like SES (1,000 contacts a page, each page made when asked, so the "SES side" holds no list).

- rate: achieved ÷ 1,000/s ≥ 0.95 (first to last request start); no one-second window of
  request starts above 1,000; every recipient sent exactly once (SES side and ledger).
- memory: peak RSS (``ru_maxrss``: interpreter, imports, threads, fakes and all) of a run to
  10,000 recipients ÷ one to 100 ≤ 3x. Beside it, the Python heap's peak during ``deliver``
  (``tracemalloc``, traced from just before the call), what the in-process fakes hold at the
  end (ledger entries, SES's record of sends: in AWS these live in DynamoDB and SES), and the
  send loop's growth per recipient once the fakes are taken out.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import subprocess
import sys
import time
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
from rich.console import Console
from rich.table import Table

if __package__ in {None, ""}:  # run as a script: the repository root holds ``tests.fakes``
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.delivery_throughput import TimedSes, max_in_any_second, run
from changecast.aws.ses import PAGE_SIZE, SesContactListAdapter, topic_to_aws
from changecast.contacts.topics import desired_topics
from changecast.local.demo import demo_config, demo_ses_config

RATE = 1000
TARGET_RATIO = 0.95
TARGET_MEMORY = 3.0
TARGET_GROWTH = 512
"""Bytes a recipient may add to the send loop: its address, the folded copy that dedupes it,
their set and tuple slots (about 200 bytes), with room for the allocator's rounding."""
FAKE_FILES = ("*/tests/fakes/*", "*/bench/delivery_throughput.py")
SHORTCUTS = (
    "Shortcuts: SES is bench.delivery_throughput.TimedSes (in process, time.sleep 40 ms a call, "
    "counted at request start); the ledger is tests/fakes MemoryLedger behind time.sleep 5 ms a "
    "call; ListContacts is a stand-in SESv2 client paging generated contacts (1,000 a page) "
    "behind the real SesContactListAdapter; the object store is in memory. The send loop is the "
    "real one: delivery.service.deliver, its Sender threads and TokenBucket."
)
console = Console(width=150)


@dataclass
class PagedContacts:
    """A stand-in SESv2 client: ``count`` contacts opted in to ``topic``, paged as SES pages.

    Each page is made when asked for, so the list costs no memory on this side.
    """

    list_name: str
    count: int
    topic: str = "aws-announce"
    requests: list[dict[str, Any]] = field(default_factory=list)

    def get_contact_list(self, ContactListName: str) -> dict[str, Any]:
        topics = desired_topics(demo_ses_config())
        return {"ContactListName": ContactListName, "Topics": [topic_to_aws(t) for t in topics]}

    def list_contacts(self, **request: Any) -> dict[str, Any]:
        self.requests.append({k: v for k, v in request.items() if k != "Filter"})
        start = int(request.get("NextToken") or 0)
        end = min(self.count, start + int(request["PageSize"]))
        answer: dict[str, Any] = {
            "Contacts": [
                {
                    "EmailAddress": address(number),
                    "TopicPreferences": [{"TopicName": self.topic, "SubscriptionStatus": "OPT_IN"}],
                    "UnsubscribeAll": False,
                }
                for number in range(start, end)
            ]
        }
        if end < self.count:
            answer["NextToken"] = str(end)
        return answer


def address(number: int) -> str:
    return f"person-{number:05d}@acme.example.com"


def child(recipients: int, *, trace: bool) -> dict[str, Any]:
    """One delivery in this process; its figures as JSON-ready data."""
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    run(TimedSes(reported_rate=RATE, latency=0.0), 20)  # warm up: imports, templates, threads
    mapping = demo_config(1, portal_url="http://portal.test").customer_mappings["acme"]
    client = PagedContacts(mapping.contact_list_name, recipients)
    source = SesContactListAdapter(client)  # type: ignore[arg-type]
    ses = TimedSes(reported_rate=RATE)
    if trace:
        tracemalloc.start(4)
    result = run(
        ses,
        recipients,
        source=source,
        before=tracemalloc.reset_peak if trace else None,
    )
    figures: dict[str, Any] = {
        "recipients": recipients,
        "error": result.error,
        "sent": result.record.sent if result.record else None,
        "failed": result.record.failed if result.record else None,
        "ledger_sent": result.sent_in_ledger,
        "once_each": result.once_each
        and set(ses.delivered) == {address(n) for n in range(recipients)},
        "achieved": result.achieved,
        "worst_window": max_in_any_second(ses.attempts),
        "wall": result.wall,
        "pages": len(client.requests),
        "largest_page": max(int(r["PageSize"]) for r in client.requests),
        "max_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }
    if trace:
        _, peak = tracemalloc.get_traced_memory()
        snapshot = tracemalloc.take_snapshot().filter_traces(
            [tracemalloc.Filter(True, pattern, all_frames=True) for pattern in FAKE_FILES]
        )
        tracemalloc.stop()
        figures["heap_peak"] = peak
        figures["fakes_hold"] = sum(stat.size for stat in snapshot.statistics("filename"))
    return figures


def measured(recipients: int, *, trace: bool) -> dict[str, Any]:
    """``child`` in a fresh interpreter."""
    command = [sys.executable, "-m", "bench.large_account", "--child", str(recipients)]
    done = subprocess.run(
        [*command, *(["--trace"] if trace else [])],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[1],
    )
    if done.returncode != 0:
        raise SystemExit(f"the {recipients}-recipient run failed:\n{done.stderr[-3000:]}")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


Row = tuple[str, str, str, bool]


def correctness(name: str, figures: dict[str, Any]) -> list[Row]:
    count = figures["recipients"]
    delivered = (
        figures["error"] is None
        and figures["sent"] == count
        and figures["failed"] == 0
        and figures["ledger_sent"] == count
    )
    pages = -(-count // PAGE_SIZE)
    return [
        (
            f"{name}: every recipient sent exactly once (SES side)",
            f"{count} x 1",
            "yes" if figures["once_each"] else "NO",
            bool(figures["once_each"]),
        ),
        (
            f"{name}: delivered, none failed; ledger",
            f"sent={count} failed=0",
            figures["error"]
            or f"sent={figures['sent']} failed={figures['failed']} "
            f"ledger sent={figures['ledger_sent']}",
            delivered,
        ),
        (
            f"{name}: ListContacts requests (page size)",
            f"{pages} (≤ {PAGE_SIZE})",
            f"{figures['pages']} ({figures['largest_page']})",
            figures["pages"] == pages and figures["largest_page"] <= PAGE_SIZE,
        ),
    ]


def rows(large: int, small: int) -> list[Row]:
    fast = measured(large, trace=False)
    little = measured(small, trace=False)
    heap_large = measured(large, trace=True)
    heap_small = measured(small, trace=True)
    ratio = fast["achieved"] / RATE
    rss = fast["max_rss_kb"] / little["max_rss_kb"]
    worker_large = heap_large["heap_peak"] - heap_large["fakes_hold"]
    worker_small = heap_small["heap_peak"] - heap_small["fakes_hold"]
    growth = (worker_large - worker_small) / (large - small)
    return [
        (
            f"achieved ÷ rate, {large} rcpt at {RATE}/s (first to last start)",
            f"≥ {TARGET_RATIO}",
            f"{ratio:.3f} ({fast['achieved']:.0f}/s; deliver() took {fast['wall']:.1f} s)",
            ratio >= TARGET_RATIO,
        ),
        (
            "most request starts in any one second",
            f"≤ {RATE}",
            str(fast["worst_window"]),
            fast["worst_window"] <= RATE,
        ),
        *correctness(f"{large} rcpt", fast),
        *correctness(f"{small} rcpt", little),
        (
            f"peak RSS (ru_maxrss), {large} ÷ {small} rcpt",
            f"≤ {TARGET_MEMORY:g}x",
            f"{rss:.2f}x ({fast['max_rss_kb'] / 1024:.1f} MiB ÷ "
            f"{little['max_rss_kb'] / 1024:.1f} MiB)",
            rss <= TARGET_MEMORY,
        ),
        (
            f"(info) heap peak in deliver() (tracemalloc), {small} / {large} rcpt",
            "-",
            f"{heap_small['heap_peak'] / 1024:.0f} KiB / {heap_large['heap_peak'] / 1024:.0f} KiB"
            f" = {heap_large['heap_peak'] / heap_small['heap_peak']:.1f}x",
            True,
        ),
        (
            f"(info) of which the fakes hold at the end, {small} / {large} rcpt",
            "-",
            f"{heap_small['fakes_hold'] / 1024:.0f} KiB / {heap_large['fakes_hold'] / 1024:.0f} "
            "KiB (ledger entries, SES's record of sends)",
            True,
        ),
        (
            "send loop's heap growth per recipient (peak less the fakes)",
            f"≤ {TARGET_GROWTH} B",
            f"{growth:.0f} B ({worker_small / 1024:.0f} → {worker_large / 1024:.0f} KiB)",
            growth <= TARGET_GROWTH,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.child, trace=args.trace)))
        return
    started = time.monotonic()
    table = Table(
        title=f"Large account: the real send loop at {RATE}/s, SES 40 ms, ledger 5 ms, "
        f"{args.recipients} recipients"
    )
    for column in ("figure", "target", "measured", "result"):
        table.add_column(column, justify="left" if column != "result" else "right")
    failed = False
    for figure, target, value, ok in rows(args.recipients, args.small):
        failed |= not ok
        table.add_row(figure, target, value, "[green]PASS[/green]" if ok else "[red]FAIL[/red]")
    console.print(table)
    console.print(SHORTCUTS)
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    console.print(f"total {time.monotonic() - started:.0f} s; load average {load} (2 cores)")
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()

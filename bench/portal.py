"""Portal server time on moto's S3: a 30-customer change's view, its polled grid and API.

Run: ``uv run python bench/portal.py [--changes 100000] [--requests 200]``.

The archive is moto's S3 behind a real boto3 client (``mock_aws``, in-process: no network hop),
the index SQLite (bench/search.py's changes, loaded by ``bulk_load``). The viewed change names 30
customers, has two versions (so the view shows a diff) and 120 delivery results written by the
worker's own ``save_record`` (S3 ``executions/`` + the delivery read model); 3 customers still
wait for their worker, so the grid keeps polling. Each row shows p50/p95 beside its target
(50 ms for the view, the grid and the deliveries API, polled every 2 s; 100 ms for dashboard and
search), the S3 requests each request made (counted by a botocore event hook) and the time spent
in the index. Exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import logging
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import structlog
from rich.console import Console
from rich.table import Table

from changecast.changes.models import Action, Change, ChangeStatus, HistoryEntry
from changecast.delivery.models import DeliveryFailure, ExecutionRecord, ExecutionStatus
from changecast.distribution.models import DistributionEvent
from changecast.local.demo import demo_config
from changecast.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
CUSTOMERS = 30
PENDING = 3  # customers whose worker has not reported the current version yet
FILLER = 20  # other changes for the directory's customers (the viewed one is the first)
VIEW_TARGET_MS = 50.0
LIST_TARGET_MS = 100.0
console = Console(width=140)
Paths = Callable[[random.Random], str]
SHORTCUTS = [
    "S3 is moto in-process (mock_aws on a real boto3 client): no network hop. A real S3 GET "
    "adds ~10-30 ms each, so read the 'S3 req' column: the grid and the API make none.",
    "the index's 100k changes are loaded by bulk_load (production grows it by upserts; "
    "bench/search.py measures a grown index); the SQLite file is warm in the page cache.",
    "requests go through FastAPI's TestClient in-process (no HTTP server, no TLS).",
    "the change view's calendar-feed tokens are kept 60 s per process (Runtime.feed_tokens): the "
    "warm-up fills that cache, so the view's S3 column leaves out the first view of a process or "
    "one after a minute's pause, which reads each customer's token (30 GETs, 8 at a time).",
]


@dataclass(frozen=True)
class FixedClock:
    """The synthetic data's "now" (bench/search.py dates its changes around it)."""

    at: datetime

    def now(self) -> datetime:
        return self.at


class Timer:
    """Time spent in the index and the read model during one request."""

    spent_ms = 0.0


class Timed:
    """Forwards to ``inner`` and adds the time of every call to ``timer`` (to split page time)."""

    def __init__(self, inner: Any, timer: Timer) -> None:
        self.inner = inner
        self.timer = timer

    def __getattr__(self, name: str) -> Any:
        found = getattr(self.inner, name)
        if not callable(found):
            return found

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return found(*args, **kwargs)
            finally:
                self.timer.spent_ms += (time.perf_counter() - started) * 1000

        return timed


class S3Requests:
    """Counts the S3 requests of the runtime's boto3 client (a botocore event hook)."""

    def __init__(self, client: Any) -> None:
        self.count = 0
        client.meta.events.register("before-call.s3", self._seen)

    def _seen(self, **_: Any) -> None:
        self.count += 1


def entry(action: Action, status: ChangeStatus, version: int, at: datetime) -> HistoryEntry:
    return HistoryEntry(action=action, status=status, version=version, at=at, by="a@example.com")


def versions_of(change: Change, codes: list[str], at: datetime) -> tuple[Change, Change]:
    """Two archived versions: v1 submitted and approved, v2 an edit, approved ("updated")."""
    meta = change.change_metadata.model_copy(update={"customer_codes": codes})
    first_history = [
        entry(Action.SUBMIT, ChangeStatus.SUBMITTED, 1, at),
        entry(Action.APPROVE, ChangeStatus.APPROVED, 1, at),
    ]
    first = change.model_copy(
        update={"status": ChangeStatus.APPROVED, "history": first_history, "change_metadata": meta}
    )
    edited = meta.model_copy(update={"title": change.title + " (edited)"})
    second_history = [
        *first_history,
        entry(Action.EDIT, ChangeStatus.SUBMITTED, 2, at),
        entry(Action.APPROVE, ChangeStatus.APPROVED, 2, at),
    ]
    second = first.model_copy(
        update={"version": 2, "change_metadata": edited, "history": second_history}
    )
    return first, second


def result(change: Change, code: str, version: int, event: DistributionEvent, n: int) -> Any:
    """A worker's record: most delivered, every seventh partial with a refused recipient."""
    failed = 1 if n % 7 == 0 else 0
    at = change.modified_at + timedelta(minutes=n)
    return ExecutionRecord(
        change_id=change.change_id,
        version=version,
        customer_code=code,
        event=event,
        status=ExecutionStatus.PARTIAL if failed else ExecutionStatus.DELIVERED,
        recipients=12,
        sent=10 - failed,
        already_sent=0,
        filtered=2,
        failed=failed,
        failures=[DeliveryFailure(recipient=f"ops@{code}.example.com", reason="MessageRejected")]
        * failed,
        started_at=at,
        finished_at=at + timedelta(seconds=3),
    )


def deliver_results(runtime: Any, second: Change, codes: list[str]) -> int:
    """The worker's writes for both versions (``save_record``: S3 and the read model)."""
    from changecast.delivery.results import save_record

    E = DistributionEvent
    plan = [(1, E.SUBMITTED), (1, E.APPROVED), (2, E.SUBMITTED), (2, E.UPDATED)]
    written = 0
    for n, code in enumerate(codes):
        for version, event in plan:
            if version == 2 and event is E.UPDATED and n >= len(codes) - PENDING:
                continue  # still pending: the grid polls
            record = result(second, code, version, event, n)
            save_record(record, store=runtime.store, read_model=runtime.deliveries)
            written += 1
    return written


def build(count: int, tmp: Path) -> tuple[Any, str, list[str], Timer, S3Requests]:
    """An app on moto's S3 and a ``count``-change SQLite index; the ids to view."""
    from bench.search import NOW, synthetic_changes
    from changecast.bootstrap import Runtime
    from changecast.web.app import create_app

    config = demo_config(CUSTOMERS, portal_url="http://portal.bench")
    (tmp / "config.json").write_text(config.model_dump_json(), encoding="utf-8")
    settings = Settings(
        mode="local",
        data_dir=tmp,
        config=tmp / "config.json",
        database_url=f"sqlite:///{tmp / 'index.db'}",
    )
    runtime = Runtime(settings=settings, clock=FixedClock(NOW))
    runtime.aws.client("s3").create_bucket(Bucket=config.s3_config.bucket_name)
    index = runtime.index
    started = time.perf_counter()
    loaded = index.bulk_load(synthetic_changes(count))
    console.print(f"loaded {loaded:,} changes in {time.perf_counter() - started:.1f} s (bulk_load)")
    codes = sorted(config.customer_mappings)
    timer = Timer()
    deliveries = runtime.deliveries
    viewed: list[str] = []
    for n, change in enumerate(synthetic_changes(FILLER, seed=99)):
        mine = codes if n == 0 else random.Random(n).sample(codes, k=2)
        first, second = versions_of(change, mine, NOW)
        for version in (first, second):
            runtime.archive.write_version(version)
            index.upsert(version, archived=True)
        runtime.archive.put_latest(second, etag=None)
        viewed.append(second.change_id)
        if n == 0:
            written = deliver_results(runtime, second, codes)
            console.print(f"change {second.change_id}: {len(codes)} customers, {written} results")
    runtime.__dict__.update(index=Timed(index, timer), deliveries=Timed(deliveries, timer))
    requests = S3Requests(runtime.store.client)
    return create_app(runtime), viewed[0], viewed, timer, requests


@dataclass(frozen=True)
class Samples:
    pages: list[float]
    in_index: list[float]
    s3: list[int]


def measure(client: Any, paths: Paths, requests: int, timer: Timer, s3: S3Requests) -> Samples:
    """Wall time of each in-process request (the server's work plus ASGI overhead), in ms."""
    rng = random.Random(7)
    for _ in range(5):
        client.get(paths(rng))  # warm up
    pages, in_index, counts = [], [], []
    for _ in range(requests):
        path = paths(rng)
        timer.spent_ms, s3.count = 0.0, 0
        started = time.perf_counter()
        response = client.get(path, headers={"hx-request": "true"} if "deliveries" in path else {})
        pages.append((time.perf_counter() - started) * 1000)
        in_index.append(timer.spent_ms)
        counts.append(s3.count)
        assert response.status_code == 200, (path, response.status_code, response.text[:300])
    return Samples(pages, in_index, counts)


def pages(big: str, viewed: list[str]) -> list[tuple[str, float, Paths]]:
    from bench.search import COMMON, RARE

    words = COMMON[:30]
    return [
        ("view change: 30 customers, 2 versions", VIEW_TARGET_MS, lambda _: f"/changes/{big}"),
        (
            "delivery grid poll (htmx fragment)",
            VIEW_TARGET_MS,
            lambda _: f"/changes/{big}/deliveries",
        ),
        (
            "GET /api/changes/{id}/deliveries",
            VIEW_TARGET_MS,
            lambda _: f"/api/changes/{big}/deliveries",
        ),
        (
            "view change: 2 customers (random)",
            VIEW_TARGET_MS,
            lambda r: f"/changes/{r.choice(viewed)}",
        ),
        ("dashboard", LIST_TARGET_MS, lambda _: "/"),
        ("search: common word", LIST_TARGET_MS, lambda r: f"/search?q={r.choice(words)}"),
        ("search: rare word", LIST_TARGET_MS, lambda r: f"/search?q={r.choice(RARE)}"),
        (
            "search: customer, pages 1-3",
            LIST_TARGET_MS,
            lambda r: f"/search?customer=cust-07&page={r.randint(1, 3)}",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--changes", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    logging.disable(logging.INFO)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))  # bench.search, when run as a script
    from fastapi.testclient import TestClient
    from moto import mock_aws

    with tempfile.TemporaryDirectory() as raw, mock_aws():
        app, big, viewed, timer, s3 = build(args.changes, Path(raw))
        with TestClient(app, headers={"accept": "text/html"}) as client:
            signed = client.post(
                "/auth/dev-login", data={"email": "bench@example.com", "role": "ChangeManager"}
            )
            assert signed.status_code == 200
            rows = [
                (name, target, measure(client, paths, args.requests, timer, s3))
                for name, target, paths in pages(big, viewed)
            ]
    report(rows, args.changes)


def report(rows: list[tuple[str, float, Samples]], changes: int) -> None:
    table = Table(title=f"Portal server time, moto S3 + SQLite index at {changes:,} changes")
    columns = ("page", "p50 ms", "p95 ms", "target p95", "", "S3 req/request", "index p50 ms")
    for column in columns:
        table.add_column(column)
    failed = False
    for name, target, samples in rows:
        cuts = statistics.quantiles(samples.pages, n=100)
        p50, p95 = cuts[49], cuts[94]
        failed |= p95 > target
        verdict = "PASS" if p95 <= target else "FAIL"
        s3 = sorted(set(samples.s3))
        s3_text = str(s3[0]) if len(s3) == 1 else f"{s3[0]}-{s3[-1]}"
        index_p50 = statistics.median(samples.in_index)
        table.add_row(
            name,
            f"{p50:.1f}",
            f"{p95:.1f}",
            f"<= {target:.0f} ms",
            verdict,
            s3_text,
            f"{index_p50:.1f}",
        )
    console.print(table)
    console.print("Shortcuts (each flatters a figure):")
    for line in SHORTCUTS:
        console.print(f"  - {line}")
    if failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()

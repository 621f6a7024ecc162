"""Portal server time at 100k changes (dashboard, search, view); PASS when p95 <= 100 ms.

Run: ``uv run python bench/portal.py [--changes 100000] [--requests 200]``. SQLite index loaded by
``bulk_load`` with bench/search.py's changes; the archive is an in-memory store.
"""

from __future__ import annotations

import argparse
import logging
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import structlog
from rich.console import Console
from rich.table import Table

from changecast.changes.models import Action, Change, ChangeStatus, HistoryEntry
from changecast.local.demo import demo_config
from changecast.settings import Settings

TARGET_MS = 100.0
ROOT = Path(__file__).resolve().parents[1]
CUSTOMERS = 20
VIEWED = 50
console = Console(width=130)
Paths = Callable[[random.Random], str]


@dataclass(frozen=True)
class FixedClock:
    """The synthetic data's "now" (bench/search.py dates its changes around it)."""

    at: datetime

    def now(self) -> datetime:
        return self.at


class TimedIndex:
    """Forwards to the real index and adds up the time spent in it (to split page time)."""

    def __init__(self, index: Any) -> None:
        self.index = index
        self.spent_ms = 0.0

    def __getattr__(self, name: str) -> Any:
        found = getattr(self.index, name)
        if not callable(found):
            return found

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return found(*args, **kwargs)
            finally:
                self.spent_ms += (time.perf_counter() - started) * 1000

        return timed


def viewed_changes(count: int, codes: list[str]) -> Iterator[Change]:
    """Changes for the directory's customers: the ones the view page opens."""
    from bench.search import synthetic_changes

    rng = random.Random(5)
    for change in synthetic_changes(count, seed=99):
        meta = change.change_metadata.model_copy(update={"customer_codes": rng.sample(codes, k=2)})
        yield change.model_copy(update={"change_metadata": meta})


def two_versions(change: Change, at: datetime) -> tuple[Change, Change]:
    """Two archived versions of one change, so the view page shows a diff."""
    entry = HistoryEntry(
        action=Action.SUBMIT, status=ChangeStatus.SUBMITTED, version=1, at=at, by="a@example.com"
    )
    first = change.model_copy(update={"status": ChangeStatus.SUBMITTED, "history": [entry]})
    edit = entry.model_copy(update={"action": Action.EDIT, "version": 2})
    meta = change.change_metadata.model_copy(update={"title": change.title + " (edited)"})
    second = first.model_copy(
        update={"version": 2, "change_metadata": meta, "history": [entry, edit]}
    )
    return first, second


def build(count: int, tmp: Path) -> tuple[Any, list[str]]:
    """An app on a ``count``-change SQLite index and an in-memory archive; the ids to view."""
    from tests.fakes.store import MemoryObjectStore

    from bench.search import NOW, synthetic_changes
    from changecast.bootstrap import Runtime
    from changecast.changes.archive import ChangeArchive
    from changecast.index.engine import open_index
    from changecast.web.app import create_app

    config = demo_config(CUSTOMERS, portal_url="http://portal.bench")
    (tmp / "config.json").write_text(config.model_dump_json(), encoding="utf-8")
    settings = Settings(mode="local", data_dir=tmp, config=tmp / "config.json")
    runtime = Runtime(settings=settings, clock=FixedClock(NOW))
    index = open_index(f"sqlite:///{tmp / 'index.db'}")
    started = time.perf_counter()
    loaded = index.bulk_load(synthetic_changes(count))
    console.print(f"loaded {loaded:,} changes in {time.perf_counter() - started:.1f} s")
    store = MemoryObjectStore()
    runtime.__dict__.update(index=TimedIndex(index), store=store, archive=ChangeArchive(store))
    viewed = []
    for change in viewed_changes(VIEWED, sorted(config.customer_mappings)):
        first, second = two_versions(change, NOW)
        runtime.archive.write_version(first)
        runtime.archive.write_version(second)
        runtime.archive.put_latest(second, etag=None)
        index.upsert(first, archived=True)
        index.upsert(second, archived=True)
        viewed.append(second.change_id)
    return create_app(runtime), viewed


Samples = tuple[list[float], list[float]]  # page ms, of which in the index


def measure(client: Any, paths: Paths, requests: int) -> Samples:
    """Wall time of each in-process request (the server's work plus ASGI overhead), in ms."""
    rng = random.Random(7)
    index: TimedIndex = client.app.state.runtime.index
    for _ in range(5):
        client.get(paths(rng))  # warm up
    pages, in_index = [], []
    for _ in range(requests):
        path = paths(rng)
        index.spent_ms = 0.0
        started = time.perf_counter()
        response = client.get(path)
        pages.append((time.perf_counter() - started) * 1000)
        in_index.append(index.spent_ms)
        assert response.status_code == 200, (path, response.status_code)
    return pages, in_index


def pages(viewed: list[str]) -> list[tuple[str, Paths]]:
    from bench.search import COMMON, RARE

    words = COMMON[:30]
    return [
        ("dashboard", lambda _: "/"),
        ("search: common word", lambda r: f"/search?q={r.choice(words)}"),
        ("search: rare word", lambda r: f"/search?q={r.choice(RARE)}"),
        ("search: word + status", lambda r: f"/search?q={r.choice(words)}&status=approved"),
        (
            "search: customer, pages 1-3",
            lambda r: f"/search?customer=cust-07&page={r.randint(1, 3)}",
        ),
        ("search: window dates", lambda _: "/search?from=2025-06-01&to=2025-06-14"),
        ("view change (2 versions, diff)", lambda r: f"/changes/{r.choice(viewed)}"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--changes", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    logging.disable(logging.INFO)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))  # bench.search and tests.fakes, when run as a script
    from fastapi.testclient import TestClient

    with tempfile.TemporaryDirectory() as raw:
        app, viewed = build(args.changes, Path(raw))
        with TestClient(app, headers={"accept": "text/html"}) as client:
            signed = client.post(
                "/auth/dev-login", data={"email": "bench@example.com", "role": "ChangeManager"}
            )
            assert signed.status_code == 200
            rows = [(name, measure(client, paths, args.requests)) for name, paths in pages(viewed)]
    report(rows, args.changes)


def report(rows: list[tuple[str, Samples]], changes: int) -> None:
    table = Table(title=f"Portal server time at {changes:,} changes (SQLite, in-process)")
    columns = ("page", "p50 ms", "p95 ms", "index p50 ms", "portal p50 ms")
    for column in (*columns, f"p95 <= {TARGET_MS:.0f} ms"):
        table.add_column(column)
    failed = False
    for name, (samples, in_index) in rows:
        cuts = statistics.quantiles(samples, n=100)
        p50, p95 = cuts[49], cuts[94]
        index_p50 = statistics.median(in_index)
        own_p50 = statistics.median(a - b for a, b in zip(samples, in_index, strict=True))
        failed |= p95 > TARGET_MS
        verdict = "PASS" if p95 <= TARGET_MS else "FAIL"
        table.add_row(
            name, f"{p50:.1f}", f"{p95:.1f}", f"{index_p50:.1f}", f"{own_p50:.1f}", verdict
        )
    console.print(table)
    if failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()

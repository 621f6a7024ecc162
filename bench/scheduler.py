"""Benchmark the scheduler tick's "find what is due" at 100k changes, SQLite and PostgreSQL.

Run: ``uv run python -m bench.scheduler`` (``--help`` for the options).

The index holds ``--changes`` (100,000) changes from ``bench/search.py``'s generator (statuses,
customers and windows spread over two years), grown through the production upsert path
(``SqlChangeIndex._write`` and its triggers, as ``upsert()`` runs it); the shortcut is
``--upsert-batch`` changes per transaction instead of one (printed; ``--upsert-batch 1`` is
exactly production). The grown index is cached (SQLite file, PostgreSQL database
``bench_scheduler_<key>``) and measured as grown: no ``ANALYZE``, no ``index optimize``.

A tick's "find due" is what ``Scheduler.tick`` does before writing triggers: the index reads
(``SqlScheduleIndex.scheduled``: approved changes starting or ending in range; ``written``:
the scheduled triggers already written for them) and the pure ``due_triggers`` over 50
customers (24 h reminders, window notices on, 4 h nudges, 6 h catch-up). Ticks are taken at
``--ticks`` moments spread over the generated year. Prints p50/p95 with the 200 ms p95 target
beside them. The trigger writes (S3 PUTs with If-None-Match) are not part of it: they cost
the same per due item as an approval's, and a written one is not written again.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, make_url, text

from bench.grown_index import Growth, cache_key
from bench.search import CUSTOMERS, NOW, data_material, synthetic_changes
from changecast.changes.models import Change
from changecast.distribution.schedule import Leads, due_triggers, search_window
from changecast.index.engine import open_index
from changecast.index.schedule import SqlScheduleIndex
from changecast.index.store import SqlChangeIndex

TARGET_MS = 200.0
WARMUP = 5
HORIZON = timedelta(hours=6)
LEADS = {code: Leads(timedelta(hours=24), True, timedelta(hours=4)) for code in CUSTOMERS}
POSTGRES_URL = os.environ.get(
    "CHANGECAST_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
CACHE_DIR = Path(
    os.environ.get("CHANGECAST_BENCH_CACHE", Path(tempfile.gettempdir()) / "changecast-bench")
)
console = Console(width=120)


def _changes(count: int) -> list[Change]:
    started = time.perf_counter()
    changes = list(synthetic_changes(count))
    console.print(f"generated {len(changes):,} changes in {time.perf_counter() - started:.1f} s")
    return changes


@contextmanager
def sqlite_index(key: str, make: Callable[[], list[Change]], growth: Growth) -> Iterator[str]:
    """The cached SQLite index (grown now unless present); yields how it came to be."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    path = CACHE_DIR / f"scheduler-sqlite-{key}.db"
    note = f"reused {path}, grown earlier by {growth.describe()}"
    if not path.exists():
        part = path.with_name(path.name + ".part")
        part.unlink(missing_ok=True)
        index = open_index(f"sqlite:///{part}")
        try:
            seconds = growth.fill(index, make())
        finally:
            index.close()
        shutil.move(part, path)
        for stale in CACHE_DIR.glob("scheduler-sqlite-*.db*"):  # this bench's older caches
            if not stale.name.startswith(path.name):
                stale.unlink(missing_ok=True)
        note = f"grew in {seconds:.0f} s by {growth.describe()}"
    yield f"sqlite:///{path}|{note}"


@contextmanager
def postgres_index(key: str, make: Callable[[], list[Change]], growth: Growth) -> Iterator[str]:
    """The cached database ``bench_scheduler_<key>`` (grown now unless it exists)."""
    name = f"bench_scheduler_{key}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    try:
        with admin.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
            found = exists.first() is not None
        note = f"reused database {name}, grown earlier by {growth.describe()}"
        if not found:
            part = f"{name}_part"
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{part}" WITH (FORCE)')
                conn.exec_driver_sql(f'CREATE DATABASE "{part}"')
            part_url = make_url(POSTGRES_URL).set(database=part)
            index = open_index(part_url.render_as_string(hide_password=False))
            try:
                seconds = growth.fill(index, make())
            finally:
                index.close()
            with admin.connect() as conn:
                stale = conn.execute(
                    text("SELECT datname FROM pg_database WHERE datname LIKE :p"),
                    {"p": "bench\\_scheduler\\_%"},
                ).scalars()
                for old in [str(db) for db in stale if db != part]:
                    conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{old}" WITH (FORCE)')
                conn.exec_driver_sql(f'ALTER DATABASE "{part}" RENAME TO "{name}"')
            note = f"grew in {seconds:.0f} s by {growth.describe()}"
        yield f"{url}|{note}"
    finally:
        admin.dispose()


def measure(index: SqlChangeIndex, ticks: int, seed: int) -> tuple[list[float], float, float]:
    """Milliseconds per tick's find-due, and the mean candidates read and triggers due."""
    source = SqlScheduleIndex(index.engine)
    rng = random.Random(seed)
    moments = [NOW - timedelta(minutes=rng.randrange(0, 365 * 24 * 60)) for _ in range(ticks)]
    samples, candidates, due = [], [], []
    for number, now in enumerate([moments[0]] * WARMUP + moments):
        started = time.perf_counter()
        rows = source.scheduled(search_window(now, LEADS.values(), HORIZON))
        written = source.written({row.change_id for row in rows})
        found = due_triggers(rows, LEADS, now=now, horizon=HORIZON, written=written)
        elapsed = (time.perf_counter() - started) * 1000
        if number >= WARMUP:
            samples.append(elapsed)
            candidates.append(len(rows))
            due.append(len(found))
    return samples, statistics.mean(candidates), statistics.mean(due)


def plan(index: SqlChangeIndex) -> str:
    """Which indexes the index read uses (EXPLAIN), in one line."""
    now = NOW - timedelta(days=100)
    query = SqlScheduleIndex(index.engine).query(search_window(now, LEADS.values(), HORIZON))
    compiled = query.compile(index.engine, compile_kwargs={"literal_binds": True})
    prefix = "EXPLAIN QUERY PLAN " if index.engine.dialect.name == "sqlite" else "EXPLAIN "
    with index.engine.connect() as conn:
        lines = [
            " ".join(str(c) for c in row) for row in conn.exec_driver_sql(f"{prefix}{compiled}")
        ]
    used = sorted({word for line in lines for word in line.split() if word.startswith("ix_")})
    return ", ".join(used) or "no index (scan)"


def percentile(samples: list[float], q: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=100_000)
    parser.add_argument("--ticks", type=int, default=200)
    parser.add_argument("--upsert-batch", type=int, default=1_000)
    parser.add_argument("--databases", default="sqlite,postgres")
    args = parser.parse_args()
    growth = Growth("upsert", args.upsert_batch)
    key = cache_key(data_material(args.changes), growth)
    table = Table(title=f"scheduler tick, find due, {args.changes:,} changes in the index")
    for column in ("database", "ticks", "candidates", "due", "p50 ms", "p95 ms", "target"):
        table.add_column(column, justify="left" if column == "database" else "right")
    opener = {"sqlite": sqlite_index, "postgres": postgres_index}
    for name in args.databases.split(","):
        with opener[name](key, lambda: _changes(args.changes), growth) as found:
            url, note = found.split("|", 1)
            console.print(f"{name}: {note}", highlight=False)
            index = open_index(url, migrate=True)
            try:
                console.print(f"{name}: the read uses {plan(index)}", highlight=False)
                samples, candidates, due = measure(index, args.ticks, seed=7)
            finally:
                index.close()
        p50, p95 = statistics.median(samples), percentile(samples, 95)
        verdict = "PASS" if p95 <= TARGET_MS else "FAIL"
        table.add_row(
            name,
            str(len(samples)),
            f"{candidates:.0f}",
            f"{due:.1f}",
            f"{p50:.1f}",
            f"{p95:.1f}",
            f"≤ {TARGET_MS:.0f} ms p95 {verdict}",
        )
    console.print(table)


if __name__ == "__main__":
    main()

"""Benchmark list and search on the change index at 100k changes against the reference approach.

Run: ``uv run python bench/search.py`` (``--help`` for the options).

The index is grown the way production grows it (``--grow upsert``, the default): one
``SqlChangeIndex.upsert()`` per change, one transaction each, triggers and all, exactly what the
workers, the portal and ``index rebuild`` run. Growing 100k changes that way takes minutes, so the
grown index is cached and reused: a SQLite file and a PostgreSQL database ``bench_search_<key>``,
keyed by the migrations' text, the generator and the growing options (``--no-cache`` grows anew).
``--upsert-batch N`` puts N changes in a transaction (a shortcut, printed); ``--grow bulk`` is
the old bulk load (COPY on PostgreSQL) + ``optimize()``, which production never runs.

Each database is measured as grown (no maintenance at all: on PostgreSQL with autovacuum off, as
on the test server, that means no planner statistics), then, on a copy, after the scheduled
maintenance ``changecast index optimize``. Prints p50/p95 per kind of query, the mean matches,
and PASS/FAIL against the 50 ms p95 target beside each figure.
"""

from __future__ import annotations

import argparse
import inspect
import math
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from changecast.changes.models import Change, ChangeQuery, ChangeStatus

if TYPE_CHECKING:
    from bench.grown_index import Growth
    from changecast.index.store import SqlChangeIndex

TARGET_MS = 50.0
WARMUP = 3
POSTGRES_URL = os.environ.get(
    "CHANGECAST_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
CACHE_DIR = Path(
    os.environ.get("CHANGECAST_BENCH_CACHE", Path(tempfile.gettempdir()) / "changecast-bench")
)
COMMAND = "uv run python bench/search.py"
ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2025, 6, 1, tzinfo=UTC)
_FREQUENT_WORDS = "change production maintenance window"  # in most changes: a stress case
_COMMON_WORDS = (
    "database network firewall upgrade patch kernel certificate rotation storage backup restore "
    "cluster migration failover dns balancer proxy cache redis postgres kafka queue deploy release "
    "rollback security compliance monitoring alerting logging vpn gateway router switch region "
    "instance server container kubernetes node ingress tls api service endpoint batch scheduler "
    "outage capacity scaling performance latency replica"
)
_FILLER_WORDS = "the and we will to of for during after before with on in is be a then"
FREQUENT, COMMON, FILLER = (w.split() for w in (_FREQUENT_WORDS, _COMMON_WORDS, _FILLER_WORDS))
STATUSES = [
    (ChangeStatus.COMPLETED, 40),
    (ChangeStatus.APPROVED, 15),
    (ChangeStatus.SUBMITTED, 15),
    (ChangeStatus.CANCELLED, 10),
    (ChangeStatus.REJECTED, 5),
    (ChangeStatus.DRAFT, 15),
]
CUSTOMERS = [f"cust-{n:02d}" for n in range(1, 51)]
console = Console(width=120)
_SYLLABLES = "ka lo mi ru te zo vex qua nim pol dar sen yul bro fen gri tas mur"


def pseudo_words(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    syllables = _SYLLABLES.split()
    made = {"".join(rng.choices(syllables, k=rng.randint(2, 4))) for _ in range(count * 3)}
    return sorted(made - set(COMMON))[:count]


VOCABULARY = FREQUENT + COMMON + pseudo_words(2_000, seed=11)  # Zipf rank order
RARE = [word + "x" for word in pseudo_words(5_000, seed=7)]  # one per change: ~20 changes each
_ZIPF = list(accumulate(1 / (rank + 1) for rank in range(len(VOCABULARY))))


def _body(rng: random.Random, domain_words: int) -> str:
    words = rng.choices(VOCABULARY, cum_weights=_ZIPF, k=domain_words)
    words += rng.choices(FILLER, k=domain_words * 2)
    rng.shuffle(words)
    return " ".join(words)


def synthetic_changes(count: int, seed: int = 1) -> Iterator[Change]:
    """Deterministic, varied changes: Zipf-distributed words, customers, statuses and dates."""
    rng = random.Random(seed)
    statuses, weights = zip(*STATUSES, strict=True)
    for n in range(count):
        modified = NOW - timedelta(minutes=rng.randrange(0, 2 * 365 * 24 * 60))
        start = (modified + timedelta(hours=rng.randrange(-720, 1440))).replace(tzinfo=None)
        author = f"user{rng.randrange(200):03d}@example.com"
        meta: dict[str, object] = {
            "title": " ".join(rng.choices(VOCABULARY, cum_weights=_ZIPF, k=rng.randint(3, 6))),
            "customer_codes": rng.sample(CUSTOMERS, k=rng.choice((1, 1, 2, 3))),
            "change_reason": f"{_body(rng, rng.randint(3, 6))} {rng.choice(RARE)}",
            "implementation_plan": _body(rng, rng.randint(4, 8)),
            "rollback_plan": _body(rng, rng.randint(2, 4)),
            "tickets": {"service_now": f"CHG{n:07d}"},
        }
        if rng.random() < 0.9:
            meta["schedule"] = {
                "implementation_start": start,
                "timezone": "UTC",
                "implementation_end": start + timedelta(hours=rng.randint(1, 6)),
            }
        yield Change.model_validate(
            {
                "change_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "version": 1,
                "created_at": modified - timedelta(days=1),
                "modified_at": modified,
                "created_by": author,
                "modified_by": author,
                "status": rng.choices(statuses, weights)[0],
                "change_metadata": meta,
            }
        )


@dataclass(frozen=True)
class Scenario:
    name: str
    make: Callable[[random.Random], ChangeQuery]


def _q(**fields: object) -> ChangeQuery:
    return ChangeQuery.model_validate(fields)


def _status(rng: random.Random) -> ChangeStatus:
    return rng.choice(STATUSES)[0]


def scenarios(total: int) -> list[Scenario]:
    deep = max(1, total // 25 // 2)
    common = COMMON[:30]

    def three(rng: random.Random) -> frozenset[str]:
        return frozenset(rng.sample(CUSTOMERS, 3))

    return [
        Scenario("search common word", lambda r: _q(text=r.choice(common))),
        Scenario("search rare word", lambda r: _q(text=r.choice(RARE))),
        Scenario("search two common words", lambda r: _q(text=" ".join(r.sample(common, 2)))),
        Scenario("search 3-letter prefix", lambda r: _q(text=r.choice(COMMON)[:3])),
        Scenario("search word + status", lambda r: _q(text=r.choice(common), status=_status(r))),
        Scenario(
            "search word + customer",
            lambda r: _q(text=r.choice(common), customer=r.choice(CUSTOMERS)),
        ),
        Scenario(
            "search word, 3 visible customers",
            lambda r: _q(text=r.choice(common), visible_customers=three(r)),
        ),
        Scenario("search word in most changes (stress)", lambda r: _q(text=r.choice(FREQUENT))),
        Scenario("list page 1", lambda _: _q()),
        Scenario(f"list deep page (~{deep})", lambda r: _q(page=r.randint(deep // 2, deep))),
        Scenario(
            "list page 1, status + customer",
            lambda r: _q(status=_status(r), customer=r.choice(CUSTOMERS)),
        ),
        Scenario(
            "list deep page, status",
            lambda r: _q(status=ChangeStatus.COMPLETED, page=r.randint(deep // 4, deep // 2)),
        ),
        Scenario("list page 1, 3 visible customers", lambda r: _q(visible_customers=three(r))),
        Scenario(
            "list page 1, starting in 14 days",
            lambda _: _q(starts_from=NOW, starts_to=NOW + timedelta(days=14)),
        ),
    ]


Result = tuple[str, float, float, float, float]  # kind, p50 ms, p95 ms, CPU p95 ms, mean matches


def percentiles(samples: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(samples * 2 if len(samples) < 2 else samples, n=100)
    return cuts[49], cuts[94]


def cpu_clock(index: SqlChangeIndex) -> Callable[[], float]:
    """CPU seconds spent by this process and (PostgreSQL on this machine) its server backend.

    Unlike wall time, it does not grow while other processes hold the CPUs: the figure a loaded
    machine can still measure. Call after ``index.engine.dispose()``: one pooled connection.
    """
    if index.dialect == "sqlite":
        return time.process_time
    with index.engine.connect() as conn:
        pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    stat = Path(f"/proc/{pid}/schedstat")
    if not stat.exists():  # the server is elsewhere: our CPU only
        return time.process_time
    return lambda: time.process_time() + int(stat.read_text().split()[0]) / 1e9


def _finder(index: SqlChangeIndex, scenario: Scenario) -> Callable[[random.Random], object]:
    return lambda rng: index.find(scenario.make(rng)).total


def measure(index: SqlChangeIndex, total: int, queries: int) -> list[Result]:
    index.engine.dispose()  # one connection from here on, so that its backend's CPU is ours
    cpu = cpu_clock(index)
    rng = random.Random(42)
    results: list[Result] = []
    kinds: list[tuple[str, Callable[[random.Random], object]]] = [
        (scenario.name, _finder(index, scenario)) for scenario in scenarios(total)
    ]
    kinds.append(
        (
            "statistics (dashboard)",
            lambda _: index.statistics(visible_customers=None, now=NOW, created_by=None).total,
        )
    )
    for name, run in kinds:
        for _ in range(WARMUP):
            run(random.Random(7))
        samples, cpu_samples, matches = [], [], []
        for _ in range(queries):
            start, cpu_start = time.perf_counter(), cpu()
            found = run(rng)
            cpu_samples.append((cpu() - cpu_start) * 1000)
            samples.append((time.perf_counter() - start) * 1000)
            matches.append(float(found) if isinstance(found, int) else 0.0)
        p50, p95 = percentiles(samples)
        results.append((name, p50, p95, percentiles(cpu_samples)[1], statistics.fmean(matches)))
    return results


PHASES = {
    "grown": "as grown",
    "optimized": "optimized",
}
PHASE_LEGEND = (
    "as grown: no maintenance at all since the first upsert; "
    "optimized: then `changecast index optimize` (the scheduled job), on a copy"
)


def data_material(count: int) -> str:
    """What the generated changes depend on (for the grown index's cache key)."""
    code = "".join(inspect.getsource(f) for f in (pseudo_words, _body, synthetic_changes))
    return f"{code}{VOCABULARY}{RARE}{STATUSES}{CUSTOMERS}{NOW}{count}"


def bench_database(
    name: str,
    count: int,
    queries: int,
    *,
    growth: Growth,
    phases: list[str],
    cache_dir: Path,
    reuse_grown: bool = False,
) -> list[tuple[str, Result]]:
    """Measure database ``name`` grown by ``growth``, in each phase (as grown; optimized).

    ``reuse_grown``: each phase on a copy of the newest cached grown index (whatever schema it
    was grown at), upgraded to this tree's head by the migrations, as a deploy does.
    """
    from bench.grown_index import (
        cache_key,
        grown_postgres,
        grown_sqlite,
        reused_postgres,
        reused_sqlite,
    )

    key = cache_key(data_material(count), growth)
    rows: list[tuple[str, Result]] = []
    for phase in phases:
        optimize = phase == "optimized"
        if reuse_grown:
            opened = reused_sqlite(cache_dir) if name == "sqlite" else reused_postgres(POSTGRES_URL)
        elif name == "sqlite":
            opened = grown_sqlite(cache_dir, key, lambda: _changes(count), growth, copy=optimize)
        else:
            opened = grown_postgres(
                POSTGRES_URL, key, lambda: _changes(count), growth, copy=optimize
            )
        with opened as (index, note):
            console.print(f"{name}: {note}", highlight=False)
            if optimize:
                started = time.perf_counter()
                index.optimize()
                seconds = time.perf_counter() - started
                console.print(
                    f"{name}: `changecast index optimize` took {seconds:.1f} s (on a copy)"
                )
            label = f"{PHASES[phase]} (grown + migrated)" if reuse_grown else PHASES[phase]
            rows += [(f"{name}, {label}", row) for row in measure(index, count, queries)]
    return rows


def _changes(count: int) -> list[Change]:
    started = time.perf_counter()
    changes = list(synthetic_changes(count))
    console.print(f"generated {len(changes):,} changes in {time.perf_counter() - started:.1f} s")
    return changes


def bench_reference(objects: int, total: int, queries: int) -> list[Result]:
    """The reference tool's search: list archive/, GET every object, filter in Python (moto)."""
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": "/nonexistent",
        }
    )
    import boto3
    from moto import mock_aws

    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="bench")
        for change in synthetic_changes(objects, seed=3):
            key = f"archive/latest/{change.change_id}.json"
            s3.put_object(Bucket="bench", Key=key, Body=change.to_bytes())

        rng = random.Random(5)
        samples, matches = [], []
        for _ in range(queries):
            start = time.perf_counter()
            matches.append(_scan_bucket(s3, rng.choice(COMMON[:30])))
            samples.append((time.perf_counter() - start) * 1000)
    p50, p95 = percentiles(samples)
    scale, mean = total / objects, statistics.fmean(matches)
    return [
        (f"search: list + GET {objects:,} objects (measured)", p50, p95, math.nan, mean),
        (
            f"  same, extrapolated to {total:,} objects",
            p50 * scale,
            p95 * scale,
            math.nan,
            mean * scale,
        ),
    ]


def _scan_bucket(s3: Any, word: str) -> int:
    """List archive/, GET and parse every object, keep those whose text has ``word``, sort."""
    found = []
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket="bench", Prefix="archive/")
    for item in (item for page in pages for item in page.get("Contents", [])):
        change = Change.model_validate_json(
            s3.get_object(Bucket="bench", Key=item["Key"])["Body"].read()
        )
        if word in f"{change.title} {change.change_metadata.change_reason}".lower():
            found.append(change)
    found.sort(key=lambda c: c.modified_at, reverse=True)
    return len(found)


def report(rows: list[tuple[str, Result]]) -> None:
    table = Table(
        title=f"changecast search benchmark (target: p95 <= {TARGET_MS:.0f} ms)",
        caption=(
            f"{COMMAND}  (--help for options). CPU p95: this process + its PostgreSQL backend, "
            "what the query costs when the machine is not shared. matches: PostgreSQL text "
            "searches count up to the rank window (1,000 there means 1,000+)"
        ),
    )
    columns = (
        "database, index",
        "query",
        "p50 ms",
        "p95 ms",
        "target",
        "",
        "CPU p95 ms",
        "matches",
    )
    for name in columns:
        table.add_column(name, justify="left" if name in {"database, index", "query"} else "right")
    for database, (name, p50, p95, cpu95, mean) in rows:
        if database.startswith("S3"):
            verdict, target = "", "-"
        else:
            verdict = "[green]PASS[/green]" if p95 <= TARGET_MS else "[red]FAIL[/red]"
            target = f"<= {TARGET_MS:.0f}"
        cpu = "-" if math.isnan(cpu95) else f"{cpu95:,.1f}"
        table.add_row(
            database, name, f"{p50:,.1f}", f"{p95:,.1f}", target, verdict, cpu, f"{mean:,.0f}"
        )
    console.print(PHASE_LEGEND, highlight=False)
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--changes", type=int, default=100_000)
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--queries", type=int, default=100, help="queries per kind")
    parser.add_argument("--grow", choices=("upsert", "bulk"), default="upsert")
    parser.add_argument(
        "--upsert-batch", type=int, default=1, help="changes per upsert transaction (1: exact)"
    )
    parser.add_argument(
        "--phases",
        default="grown,optimized",
        help="grown (no maintenance) and/or optimized (after `changecast index optimize`)",
    )
    parser.add_argument(
        "--postgres-upsert-batch",
        type=int,
        default=None,
        help="changes per upsert transaction on PostgreSQL (default: --upsert-batch)",
    )
    parser.add_argument("--cache-dir", type=Path, default=CACHE_DIR, help="grown SQLite indexes")
    parser.add_argument(
        "--reuse-grown",
        action="store_true",
        help="measure a copy of the newest cached grown index (any schema), upgraded to head "
        "by the migrations (what a deploy does); grows nothing",
    )
    parser.add_argument("--reference-objects", type=int, default=2_000)
    parser.add_argument("--reference-queries", type=int, default=3)
    args = parser.parse_args()
    databases = [name.strip() for name in args.databases.split(",") if name.strip()]
    if unknown := set(databases) - {"sqlite", "postgres"}:
        parser.error(f"unknown database(s) {sorted(unknown)}: use sqlite and/or postgres")
    phases = [name.strip() for name in args.phases.split(",") if name.strip()]
    if unknown := set(phases) - set(PHASES):
        parser.error(f"unknown phase(s) {sorted(unknown)}: use grown and/or optimized")
    started = time.perf_counter()
    console.print(f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    sys.path.insert(0, str(ROOT))  # bench.grown_index, when run as a script
    from bench.grown_index import Growth

    batches = {"sqlite": args.upsert_batch, "postgres": args.postgres_upsert_batch}
    growths = {
        db: Growth(args.grow, max(1, batch if batch is not None else args.upsert_batch))
        for db, batch in batches.items()
    }
    console.print(
        f"{WARMUP} warm-up queries per kind are run first and not counted; "
        "PostgreSQL session: no parallel workers, no JIT (as the index engine sets)"
    )
    for db in databases:  # one table per database, printed as soon as it is measured
        rows = bench_database(
            db,
            args.changes,
            args.queries,
            growth=growths[db],
            phases=phases,
            cache_dir=args.cache_dir,
            reuse_grown=args.reuse_grown,
        )
        report(rows)
    if args.reference_objects > 0:
        reference = bench_reference(args.reference_objects, args.changes, args.reference_queries)
        report([("S3 (reference)", row) for row in reference])
    load = os.getloadavg()[0]
    console.print(
        f"total time {time.perf_counter() - started:.0f} s; load average at end {load:.2f}"
    )


if __name__ == "__main__":
    main()

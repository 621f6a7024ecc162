"""Benchmark list and search on the change index at 100k changes against the reference approach.

The index is grown the way production grows it (``--grow upsert``, the default): through the
production upsert function ``SqlChangeIndex._write`` (what ``upsert()`` runs, with its triggers),
one transaction per ``--upsert-batch`` changes, and no ``optimize()`` afterwards. The one shortcut,
many changes per transaction instead of one, is printed. ``--grow bulk`` measures the old way: a
bulk load (COPY on PostgreSQL) followed by ``optimize()``, which production never runs.

Prints p50/p95 per kind of query, the mean matches, and PASS/FAIL against the 50 ms p95 target.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from changecast.changes.models import Change, ChangeQuery, ChangeStatus
from changecast.index.engine import drop_schema, open_index
from changecast.index.store import SqlChangeIndex

TARGET_MS = 50.0
POSTGRES_URL = os.environ.get(
    "CHANGECAST_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
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


Result = tuple[str, float, float, float]  # query kind, p50 ms, p95 ms, mean matches


def percentiles(samples: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(samples * 2 if len(samples) < 2 else samples, n=100)
    return cuts[49], cuts[94]


def measure(index: SqlChangeIndex, total: int, queries: int) -> list[Result]:
    rng = random.Random(42)
    results: list[Result] = []
    for scenario in scenarios(total):
        samples, matches = [], []
        for _ in range(queries):
            query = scenario.make(rng)
            start = time.perf_counter()
            matches.append(index.find(query).total)
            samples.append((time.perf_counter() - start) * 1000)
        results.append((scenario.name, *percentiles(samples), statistics.fmean(matches)))
    samples = []
    for _ in range(queries):
        start = time.perf_counter()
        index.statistics(visible_customers=None, now=NOW, created_by=None)
        samples.append((time.perf_counter() - start) * 1000)
    return [*results, ("statistics (dashboard)", *percentiles(samples), float(total))]


def grow(
    index: SqlChangeIndex, changes: list[Change], *, how: str, batch: int, upkeep: bool = False
) -> str:
    """Fill ``index`` with ``changes`` as production does (``upsert``) or by a bulk load."""
    if how == "bulk":
        index.bulk_load(changes)
        return "bulk load + optimize() (not what production runs)"
    for start in range(0, len(changes), batch):
        with index.engine.begin() as conn:
            index._write(conn, changes[start : start + batch], archived=True)
    if upkeep:
        index.optimize()  # what the scheduled `changecast index optimize` runs
    job = ", then the scheduled `changecast index optimize`" if upkeep else ", no optimize()"
    if batch == 1:
        return f"upsert(), one change per transaction, as production{job}"
    return (
        f"production upsert path (SqlChangeIndex._write + triggers){job}; "
        f"shortcut: {batch} changes per transaction instead of 1"
    )


def bench_database(
    name: str,
    changes: list[Change],
    queries: int,
    *,
    how: str = "upsert",
    batch: int = 200,
    upkeep: bool = False,
) -> list[Result]:
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with tempfile.TemporaryDirectory() as tmp:
        if name == "sqlite":
            index = open_index(f"sqlite:///{Path(tmp) / 'index.db'}")
        else:
            index = open_index(POSTGRES_URL, schema=schema)
        try:
            start = time.perf_counter()
            method = grow(index, changes, how=how, batch=batch, upkeep=upkeep)
            seconds = time.perf_counter() - start
            console.print(f"{name}: grew {len(changes):,} changes in {seconds:.1f} s by {method}")
            return measure(index, len(changes), queries)
        finally:
            index.close()
            if name == "postgres":
                drop_schema(POSTGRES_URL, schema)


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
        (f"search: list + GET {objects:,} objects (measured)", p50, p95, mean),
        (f"  same, extrapolated to {total:,} objects", p50 * scale, p95 * scale, mean * scale),
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
    table = Table(title=f"changecast search benchmark (target: p95 <= {TARGET_MS:.0f} ms)")
    for name in ("database", "query", "p50 ms", "p95 ms", "mean matches", "result"):
        table.add_column(name, justify="left" if name in {"database", "query"} else "right")
    for database, (name, p50, p95, mean) in rows:
        verdict = "[green]PASS[/green]" if p95 <= TARGET_MS else "[red]FAIL[/red]"
        table.add_row(database, name, f"{p50:,.1f}", f"{p95:,.1f}", f"{mean:,.0f}", verdict)
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--changes", type=int, default=100_000)
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--queries", type=int, default=100, help="queries per kind")
    parser.add_argument("--grow", choices=("upsert", "bulk"), default="upsert")
    parser.add_argument(
        "--upsert-batch", type=int, default=200, help="changes per upsert transaction (1: exact)"
    )
    parser.add_argument(
        "--upkeep", action="store_true", help="run the scheduled `index optimize` after growing"
    )
    parser.add_argument("--reference-objects", type=int, default=2_000)
    parser.add_argument("--reference-queries", type=int, default=3)
    args = parser.parse_args()
    databases = [name.strip() for name in args.databases.split(",") if name.strip()]
    if unknown := set(databases) - {"sqlite", "postgres"}:
        parser.error(f"unknown database(s) {sorted(unknown)}: use sqlite and/or postgres")
    started = time.perf_counter()
    console.print(f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    changes = list(synthetic_changes(args.changes))
    console.print(f"generated {len(changes):,} changes in {time.perf_counter() - started:.1f} s")
    rows = [
        (db, row)
        for db in databases
        for row in bench_database(
            db,
            changes,
            args.queries,
            how=args.grow,
            batch=max(1, args.upsert_batch),
            upkeep=args.upkeep,
        )
    ]
    if args.reference_objects > 0:
        reference = bench_reference(args.reference_objects, args.changes, args.reference_queries)
        rows += [("S3 (reference)", row) for row in reference]
    report(rows)
    load = os.getloadavg()[0]
    console.print(
        f"total time {time.perf_counter() - started:.0f} s; load average at end {load:.2f}"
    )


if __name__ == "__main__":
    main()

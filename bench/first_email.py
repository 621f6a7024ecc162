"""Benchmark the time from the S3 trigger write to the first email sent, on the embedded system.

Run: ``uv run python bench/first_email.py [--samples 20]``. Starts ``local up`` in this process
(moto, API, one worker per customer), writes one trigger at a time like the portal does, and
watches moto's SES. PASS when p95 is 1.5 s or less.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import structlog
from rich.console import Console
from rich.table import Table

from changecast.bootstrap import Runtime
from changecast.changes.archive import ChangeArchive
from changecast.changes.models import Change
from changecast.distribution.models import DistributionEvent, Trigger
from changecast.local.moto_store import sent_mail
from changecast.local.system import LocalOptions, LocalSystem, free_port
from changecast.web.app import create_app
from changecast.workers.local import local_workers

TARGET_P95 = 1.5
console = Console()


def change(customer: str) -> Change:
    at = datetime.now(UTC).replace(microsecond=0)
    return Change.model_validate(
        {
            "changeId": str(uuid.uuid4()),
            "version": 1,
            "createdAt": at,
            "modifiedAt": at,
            "createdBy": "bench@ccoe.example.com",
            "modifiedBy": "bench@ccoe.example.com",
            "status": "submitted",
            "changeMetadata": {
                "title": "Benchmark change",
                "customerCodes": [customer],
                "schedule": {
                    "implementationStart": "2030-03-01T10:00",
                    "implementationEnd": "2030-03-01T12:00",
                    "timezone": "Europe/Paris",
                },
            },
        }
    )


def one_sample(runtime: Runtime, customer: str) -> float:
    """Seconds from the trigger write to the first new message in the customer's SES."""
    mapping = runtime.directory.get(customer)
    before = len(sent_mail(mapping.account_id, mapping.region))
    current = change(customer)
    archive_key = ChangeArchive(runtime.store).write_version(current)
    trigger = Trigger(
        change_id=current.change_id,
        version=1,
        event=DistributionEvent.SUBMITTED,
        customer_code=customer,
        archive_key=archive_key,
        actor="bench@ccoe.example.com",
        created_at=current.created_at,
    )
    started = time.perf_counter()
    runtime.store.put(trigger.key, trigger.to_bytes(), if_none_match=True)
    deadline = started + 30
    while len(sent_mail(mapping.account_id, mapping.region)) == before:
        if time.perf_counter() > deadline:
            raise SystemExit("no email within 30 s")
        time.sleep(0.002)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=20)
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    with tempfile.TemporaryDirectory() as scratch:
        options = LocalOptions(data_dir=Path(scratch), customers=3, port=free_port(), demo=False)
        system = LocalSystem(options, api=create_app)
        system.background.extend(local_workers(options))
        system.start()
        try:
            runtime = system.runtime
            assert runtime is not None
            time.sleep(1.0)  # let the workers drain S3's test events
            samples = [
                one_sample(runtime, ("acme", "globex", "initech")[n % 3])
                for n in range(args.samples)
            ]
        finally:
            system.stop()
    samples.sort()
    p50 = statistics.median(samples)
    p95 = samples[max(0, round(0.95 * len(samples)) - 1)]
    table = Table(title="S3 trigger write -> first email sent (embedded system)")
    for column in ("samples", "min s", "p50 s", "p95 s", "max s", "target p95", "result"):
        table.add_column(column, justify="right")
    ok = p95 <= TARGET_P95
    table.add_row(
        str(len(samples)),
        f"{samples[0]:.3f}",
        f"{p50:.3f}",
        f"{p95:.3f}",
        f"{samples[-1]:.3f}",
        f"{TARGET_P95:.1f}",
        "[green]PASS[/green]" if ok else "[red]FAIL[/red]",
    )
    console.print(table)
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()

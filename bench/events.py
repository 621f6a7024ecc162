"""Benchmark the SES events worker: 10,000 events through the real Lambda handler.

Run: ``uv run python -m bench.events [--events 10000] [--recipients 25] [--batch N]
[--postgres URL]``.

Setup (not timed): in-process moto DynamoDB with the real ledger table (both GSIs), every
message claimed and marked sent through ``DynamoDbLedger``, the read model on SQLite
(``SqlDeliveryReadModel``, migrated). The events are what SES would publish for those
messages (``local.ses_simulator``): Send then Delivery for most; Send, Delivery, Complaint for
one recipient in 200; Send, Bounce (Permanent) for one in 50. They are shuffled (out of order)
and handed to ``EventsLambda.handle_batch`` as SQS records (each in its SNS envelope, as the
Terraform subscription keeps it: the topic proves the account) in batches of the event source
mapping's ``batch_size`` (read from deploy/terraform/modules/hub/ses_events.tf; ``--batch``
overrides it).

Timed: every ``handle_batch`` call: parse, one projected BatchGetItem (each tagged entry's
message id), the greatest mark of each entry put as an append-only mark item (BatchWriteItem,
25 a call), one read-model transaction (each recipient's greatest mark kept, the touched
deliveries recounted), suppression puts (our record; the SES account list is not called: no
role is configured). Every DynamoDB call is counted (a botocore hook). "ms/event" is a batch's
handler time divided by its events (every event of a batch waits for the whole batch: that is
its latency share).

Checked after the timed part (not timed): every delivery's delivered, bounced and complained
counts in the read model equal what the events imply, and the ledger entries of a sample of
deliveries show each recipient's expected outcome (marks folded in).

PASS at 500 events/s or more, with no event retried and both checks right.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import re
import statistics
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import structlog
from moto import mock_aws
from rich.console import Console
from rich.table import Table

from changecast.aws.dynamodb import DynamoDbLedger, DynamoDbSuppressions, create_ledger_table
from changecast.delivery.event_apply import EventDeps
from changecast.delivery.ledger import Channel, DeliveryKey, LedgerKey
from changecast.delivery.outcomes import OutcomeMark, merge
from changecast.delivery.ses_events import EventSource, message_tags, parse_event
from changecast.distribution.models import DistributionEvent
from changecast.index.deliveries import SqlDeliveryReadModel
from changecast.index.engine import drop_schema, open_index
from changecast.local.ses_simulator import SentMessage, simulated_events, sns_notification
from changecast.ports import SystemClock
from changecast.workers.ses_events import EventsLambda, EventsProcessor

TARGET_PER_SECOND = 500.0
TERRAFORM = Path(__file__).parent.parent / "deploy/terraform/modules/hub/ses_events.tf"
ACCOUNT = "210000000002"
TOPIC = f"arn:aws:sns:us-east-1:{ACCOUNT}:changecast-ses-events"
T0 = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)
console = Console(width=150)


def terraform_batch_size() -> int:
    """The event source mapping's ``batch_size`` (deploy/terraform/modules/hub/ses_events.tf)."""
    text = TERRAFORM.read_text(encoding="utf-8")
    found = re.search(r"batch_size\s*=\s*(\d+)", text)
    if found is None:
        raise SystemExit(f"no batch_size in {TERRAFORM}")
    return int(found.group(1))


def count_calls(client: Any) -> Counter[str]:
    """Every DynamoDB API call the client makes, by operation (a botocore event hook)."""
    calls: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    client.meta.events.register("before-call.dynamodb", count)
    return calls


def recipient_of(n: int) -> str:
    if n % 50 == 7:
        return "bounce@simulator.amazonses.com"
    if n % 200 == 3:
        return "complaint@simulator.amazonses.com"
    return f"person-{n:05d}@initech.example.com"


def prepare(
    ledger: DynamoDbLedger, messages: int, per_delivery: int, keys: dict[str, LedgerKey]
) -> list[str]:
    """Mark ``messages`` messages sent (into ``keys``); returns every SES event body for them."""
    bodies: list[str] = []
    key: DeliveryKey | None = None
    for n in range(messages):
        if n % per_delivery == 0:
            key = DeliveryKey("initech", str(uuid.uuid4()), 1, DistributionEvent.APPROVED)
        assert key is not None
        recipient = recipient_of(n)
        entry = LedgerKey(key, Channel.EMAIL, recipient)
        message_id = f"0100018c-{n:08d}-{uuid.uuid4().hex[:12]}"
        ledger.claim(entry, topic="aws-announce", owner="bench", now=T0, lease=timedelta(60))
        ledger.mark_sent(entry, message_id=message_id, now=T0)
        keys[message_id] = entry
        sent = SentMessage(
            message_id,
            "change-notices@ccoe.example.com",
            recipient,
            message_tags(key, Channel.EMAIL),
            T0,
            ACCOUNT,
            "us-east-1",
        )
        bodies.extend(sns_notification(TOPIC, json.dumps(r)) for r in simulated_events(sent))
    return bodies


def disorder(bodies: list[str], window: int | None) -> list[str]:
    """Shuffle within windows of ``window`` events (all of them when None)."""
    shuffled: list[str] = []
    chooser = random.Random(7)
    size = window or len(bodies)
    for first in range(0, len(bodies), size):
        chunk = bodies[first : first + size]
        chooser.shuffle(chunk)
        shuffled.extend(chunk)
    return shuffled


def records(bodies: list[str]) -> list[dict[str, Any]]:
    arn = "arn:aws:sqs:us-east-1:123456789012:changecast-ses-events"
    return [
        {
            "messageId": str(uuid.uuid4()),
            "body": body,
            "attributes": {"ApproximateReceiveCount": "1"},
            "eventSource": "aws:sqs",
            "eventSourceARN": arn,
        }
        for body in bodies
    ]


def expected_outcomes(bodies: list[str]) -> dict[str, str]:
    """SES message id -> the outcome its events (those in the run) should leave."""
    best: dict[str, OutcomeMark] = {}
    for body in bodies:
        event = parse_event(body)
        mark = event.mark()
        if mark is not None:
            best[event.message_id] = merge(best.get(event.message_id), mark)
    return {message_id: mark.outcome.value for message_id, mark in best.items()}


def check(
    ledger: DynamoDbLedger,
    read_model: SqlDeliveryReadModel,
    sent: dict[str, LedgerKey],
    expected: dict[str, str],
) -> tuple[bool, bool]:
    """(read model counts right for every delivery, ledger outcomes right for a sample)."""
    wanted: dict[DeliveryKey, Counter[str]] = {}
    for message_id, key in sent.items():
        wanted.setdefault(key.delivery, Counter())[expected.get(message_id, "sent")] += 1
    counts_ok = True
    for delivery, outcomes in wanted.items():
        rows = read_model.for_change(delivery.change_id)
        found = (rows[0].delivered, rows[0].bounced, rows[0].complained) if rows else (0, 0, 0)
        want = (outcomes["delivered"], outcomes["bounced"], outcomes["complained"])
        counts_ok = counts_ok and found == want
    ledger_ok = True
    by_key = {key: message_id for message_id, key in sent.items()}
    for delivery in list(wanted)[:: max(len(wanted) // 8, 1)]:
        for entry in ledger.entries(delivery.partition):
            want_outcome = expected.get(by_key[entry.key], "sent")
            ledger_ok = ledger_ok and entry.outcome == want_outcome
    return counts_ok, ledger_ok


def run(
    events: int, per_delivery: int, batch: int, window: int | None, postgres: str | None = None
) -> dict[str, Any]:
    schema = f"bench_events_{uuid.uuid4().hex[:12]}" if postgres else None
    with mock_aws(), tempfile.TemporaryDirectory() as tmp:
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_ledger_table(client, "bench-ledger")
        ledger = DynamoDbLedger(client, "bench-ledger")
        url = postgres or f"sqlite:///{Path(tmp) / 'index.db'}"
        index = open_index(url, schema=schema)
        read_model = SqlDeliveryReadModel(index.engine, clock=SystemClock())
        sent: dict[str, LedgerKey] = {}
        bodies = disorder(prepare(ledger, events // 2, per_delivery, sent)[:events], window)
        deps = EventDeps(
            ledger=ledger,
            suppressions=DynamoDbSuppressions(client, "bench-ledger"),
            read_model=read_model,
            account_list=None,
            accounts={"initech": ACCOUNT},
            sources=[EventSource("initech", ACCOUNT, "us-east-1", TOPIC)],
        )
        handler = EventsLambda(processor=EventsProcessor(deps), queues=lambda _arn: (None, 5))
        all_records = records(bodies)
        failures = 0
        shares: list[float] = []
        calls = count_calls(client)
        started, cpu = time.perf_counter(), time.process_time()
        for first in range(0, len(all_records), batch):
            chunk = all_records[first : first + batch]
            began = time.perf_counter()
            answer = handler.handle_batch({"Records": chunk})
            shares.extend([(time.perf_counter() - began) / len(chunk)] * len(chunk))
            failures += len(answer["batchItemFailures"])
        wall = time.perf_counter() - started
        timed_calls = Counter(calls)
        cpu = time.process_time() - cpu
        suppressed = len(deps.suppressions.suppressed("initech"))
        counts_ok, ledger_ok = check(ledger, read_model, sent, expected_outcomes(bodies))
        index.close()
        if postgres and schema:
            drop_schema(postgres, schema)
    per_event = sorted(shares)
    return {
        "events": len(all_records),
        "deliveries": (events // 2 + per_delivery - 1) // per_delivery,
        "wall": wall,
        "rate": len(all_records) / wall,
        "cpu_rate": len(all_records) / cpu,
        "p50_ms": statistics.median(per_event) * 1000,
        "p95_ms": per_event[int(len(per_event) * 0.95) - 1] * 1000,
        "failures": failures,
        "suppressed": suppressed,
        "counts_ok": counts_ok,
        "ledger_ok": ledger_ok,
        "calls_per_event": sum(timed_calls.values()) / len(all_records),
        "calls": dict(timed_calls),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--recipients", type=int, default=25, help="messages per delivery")
    parser.add_argument(
        "--batch", type=int, default=None, help="records per handler call (default: Terraform's)"
    )
    parser.add_argument("--window", type=int, default=500, help="events shuffled within this")
    parser.add_argument("--order", choices=("window", "all", "both"), default="both")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="the read model on PostgreSQL (a throwaway schema), e.g. "
        "postgresql+psycopg://postgres@127.0.0.1:5432/test; default: SQLite in a temp dir",
    )
    args = parser.parse_args()
    args.batch = args.batch or terraform_batch_size()
    logging.disable(logging.WARNING)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    where = "PostgreSQL" if args.postgres else "SQLite"
    table = Table(
        title="SES events through the real handler "
        f"(in-process moto DynamoDB, read model on {where})"
    )
    for column in (
        "order",
        "events",
        "deliveries",
        "batch",
        "wall s",
        "events/s",
        "events/CPU-s",
        "p50 ms/event",
        "p95 ms/event",
        "DynamoDB calls/event",
        "retried",
        "suppressed",
        "counts right",
        "ledger right",
        "target",
        "result",
    ):
        table.add_column(column, justify="right")
    orders = {"window": (f"shuffled per {args.window}", args.window), "all": ("all shuffled", None)}
    for name in ("window", "all") if args.order == "both" else (args.order,):
        label, window = orders[name]
        result = run(args.events, args.recipients, args.batch, window, args.postgres)
        console.print(
            f"{label}: {result['rate']:.0f} events/s; DynamoDB calls {result['calls']}",
            style="dim",
        )
        add_row(table, label, result, args.batch)
    console.print(table)
    console.print(
        f"{args.recipients} messages per delivery; 1 in 50 a permanent bounce, 1 in 200 a "
        "complaint. 'shuffled per N': SES publishes a delivery's events within seconds, so a "
        "batch mostly holds few deliveries; 'all shuffled': every event of every delivery in "
        "random order (a batch touches about as many deliveries as it has events, each "
        "recounted in the batch's one read-model transaction). Setup (ledger writes, "
        "migrations) and the checks are not timed. The SES account suppression list is not "
        "called (no role configured; moto has no such API); the read model is SQLite in a "
        "temporary directory (--postgres: a throwaway schema). moto answers in-process (about "
        "3 ms a call, more for large answers: which is why a batch makes few calls and reads 3 "
        "attributes an entry). "
        "events/CPU-s: events per second of this process's CPU (what one "
        "uncontended core would do); the result compares wall-clock events/s."
    )


def add_row(table: Table, label: str, result: dict[str, Any], batch: int) -> None:
    ok = (
        result["rate"] >= TARGET_PER_SECOND
        and result["failures"] == 0
        and result["counts_ok"]
        and result["ledger_ok"]
    )
    table.add_row(
        label,
        str(result["events"]),
        str(result["deliveries"]),
        str(batch),
        f"{result['wall']:.2f}",
        f"{result['rate']:.0f}",
        f"{result['cpu_rate']:.0f}",
        f"{result['p50_ms']:.2f}",
        f"{result['p95_ms']:.2f}",
        f"{result['calls_per_event']:.3f}",
        str(result["failures"]),
        str(result["suppressed"]),
        "yes" if result["counts_ok"] else "NO",
        "yes (sample)" if result["ledger_ok"] else "NO",
        f">= {TARGET_PER_SECOND:.0f}/s",
        "PASS" if ok else "FAIL",
    )


if __name__ == "__main__":
    main()

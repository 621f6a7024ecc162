"""Benchmark our CPU per email: one trigger delivered to many recipients.

Run: ``uv run python bench/worker_cpu.py [--recipients 2000] [--moto-recipients 500]``.

Two setups, each for a submitted (one email each) and an approved (email + invite to half)
trigger, with the send threads a 200/s account gets:

- fake: SES, ledger and store do almost nothing, so the CPU measured is the worker's own:
  routing, rendering once, the ledger protocol, pacing and building each message.
- moto: the real SES adapter (``aws/ses_mail.py``) and DynamoDB ledger (``aws/dynamodb.py``) on
  in-process moto. Method: every boto3 client call is wrapped and its thread CPU time
  (``time.thread_time``) summed across the send threads: that is botocore's and moto's time,
  printed apart; ours = process CPU (``time.process_time``) minus it.

PASS at 1 ms of our CPU per email or less.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import logging
import os
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from rich.console import Console
from rich.table import Table

from changecast.changes.models import Change
from changecast.contacts.models import Contact, ContactListInfo, TopicPreference
from changecast.contacts.topics import desired_topics, subscribers
from changecast.delivery.ledger import Claim, ClaimOutcome, LedgerEntry, LedgerKey
from changecast.delivery.pacing import TokenBucket, concurrency_for
from changecast.delivery.service import DeliveryDeps, DeliveryRequest, deliver
from changecast.distribution.models import DistributionEvent
from changecast.local.demo import demo_config, demo_ses_config
from changecast.ports import StoredObject, SystemClock

TARGET_MS = 1.0
THREADS = concurrency_for(200)
console = Console(width=170)


@dataclass
class NullMail:
    """Accepts every message at once (a fake SES)."""

    sent: int = 0
    _ids: Any = field(default_factory=itertools.count)

    def send_email(self, **_: Any) -> str:
        self.sent += 1
        return f"m-{next(self._ids)}"

    def send_raw(self, **_: Any) -> str:
        self.sent += 1
        return f"m-{next(self._ids)}"

    def max_send_rate(self) -> float | None:
        return 1_000_000.0


@dataclass
class ListContacts:
    info: ContactListInfo
    contacts: list[Contact]

    def get_contact_list(self, name: str) -> ContactListInfo:
        del name
        return self.info

    def list_contacts(self, list_name: str, *, topic: str | None = None) -> list[Contact]:
        del list_name
        if topic is None:
            return self.contacts
        found = self.info.topic(topic)
        assert found is not None
        return subscribers(self.contacts, topic, found.default_status)

    def iter_contacts(self, list_name: str, *, topic: str | None = None) -> Iterator[Contact]:
        return iter(self.list_contacts(list_name, topic=topic))


@dataclass
class Account:
    mailer: NullMail
    source: ListContacts

    def mail(self) -> NullMail:
        return self.mailer

    def contacts(self) -> ListContacts:
        return self.source


@dataclass
class DictLedger:
    states: dict[tuple[str, str], str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def claim(self, key: LedgerKey, **_: Any) -> Claim:
        with self.lock:
            if self.states.get((key.partition, key.sort)) == "sent":
                return Claim(ClaimOutcome.SENT)
            self.states[(key.partition, key.sort)] = "sending"
        return Claim(ClaimOutcome.CLAIMED)

    def mark_sent(self, key: LedgerKey, **_: Any) -> None:
        self.states[(key.partition, key.sort)] = "sent"

    def mark_failed(self, key: LedgerKey, **_: Any) -> None:
        self.states[(key.partition, key.sort)] = "failed"

    def release(self, key: LedgerKey, **_: Any) -> None:
        self.states[(key.partition, key.sort)] = "pending"

    def entries(self, partition: str) -> list[LedgerEntry]:
        del partition
        return []

    def entries_for(self, change_id: str, customer_code: str) -> list[LedgerEntry]:
        del change_id, customer_code
        return []

    def mark_suppressed(self, key: LedgerKey, **_: Any) -> None:
        self.states[(key.partition, key.sort)] = "suppressed"


class DictStore:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def get(self, key: str) -> StoredObject:
        from changecast.errors import NotFoundError

        if key not in self.objects:
            raise NotFoundError(key)
        return StoredObject(key, self.objects[key], '"1"')

    def put(self, key: str, body: bytes, **_: Any) -> str:
        self.objects[key] = body
        return '"1"'

    def delete(self, key: str) -> None:
        self.objects.pop(key, None)

    def exists(self, key: str) -> bool:
        return key in self.objects

    def list_keys(self, prefix: str) -> Any:
        return iter(sorted(k for k in self.objects if k.startswith(prefix)))


def change() -> Change:
    at = datetime(2030, 1, 1, tzinfo=UTC)
    return Change.model_validate(
        {
            "changeId": str(uuid.uuid4()),
            "version": 1,
            "createdAt": at,
            "modifiedAt": at,
            "createdBy": "a@ccoe.example.com",
            "modifiedBy": "a@ccoe.example.com",
            "status": "approved",
            "history": [
                {"action": "approve", "status": "approved", "version": 1, "at": at, "by": "b@x.com"}
            ],
            "changeMetadata": {
                "title": "Rotate TLS certificates on every load balancer",
                "customerCodes": ["acme"],
                "tickets": {"serviceNow": "CHG0001", "jira": "CCOE-1"},
                "schedule": {
                    "implementationStart": "2030-03-01T10:00",
                    "implementationEnd": "2030-03-01T12:00",
                    "timezone": "America/New_York",
                },
                "changeReason": "Certificates expire soon. " * 20,
                "implementationPlan": "Swap listeners one by one. " * 20,
                "testPlan": "Handshake checks.",
                "expectedCustomerImpact": "None.",
                "rollbackPlan": "Swap back.",
            },
            "meetingInvite": {"title": "TLS window", "location": "Teams"},
        }
    )


def contacts(count: int, calendar_share: int) -> list[Contact]:
    made = []
    for number in range(count):
        preferences = [
            TopicPreference(topic="aws-announce", status="OPT_IN"),
            TopicPreference(topic="aws-approval", status="OPT_IN"),
        ]
        if number % calendar_share == 0:
            preferences.append(TopicPreference(topic="aws-calendar", status="OPT_IN"))
        made.append(
            Contact(email=f"p{number:05d}@acme.example.com", preferences=tuple(preferences))
        )
    return made


class TimedClient:
    """Wraps a boto3 client: the thread CPU time spent inside its calls (botocore + moto)."""

    def __init__(self, client: Any, meter: CallMeter) -> None:
        self._client = client
        self._meter = meter

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._client, name)
        if not callable(found) or name.startswith("_") or name == "meta":
            return found

        def timed(*args: Any, **kwargs: Any) -> Any:
            began = time.thread_time()
            INSIDE.active = True
            try:
                return found(*args, **kwargs)
            finally:
                INSIDE.active = False
                self._meter.add(time.thread_time() - began)

        return timed


INSIDE = threading.local()


@dataclass
class CallMeter:
    """CPU inside boto3 calls; and garbage collections that ran outside them (info)."""

    seconds: float = 0.0
    calls: int = 0
    gc_outside: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)
    _gc_began: float = 0.0

    def add(self, seconds: float) -> None:
        with self.lock:
            self.seconds += seconds
            self.calls += 1

    def on_gc(self, phase: str, info: dict[str, Any]) -> None:
        del info
        if getattr(INSIDE, "active", False):
            return
        if phase == "start":
            self._gc_began = time.thread_time()
        else:
            self.gc_outside += time.thread_time() - self._gc_began


@dataclass
class Measured:
    sent: int
    cpu: float
    wall: float
    aws_cpu: float = 0.0
    aws_calls: int = 0
    gc_outside: float = 0.0

    @property
    def ours_ms(self) -> float:
        return (self.cpu - self.aws_cpu) / self.sent * 1000


def _deps(recipients: int, mail: Any, ledger: Any) -> DeliveryDeps:
    config = demo_config(1, portal_url="http://portal.test")
    info = ContactListInfo(name="changecast", topics=desired_topics(demo_ses_config()))
    return DeliveryDeps(
        customer=config.customer_mappings["acme"],
        email_config=config.email_config,
        store=DictStore(),
        ses=Account(mail, ListContacts(info, contacts(recipients, 2))),
        ledger=ledger,
        clock=SystemClock(),
        owner="bench",
        lease=timedelta(seconds=60),
        bucket=TokenBucket(1_000_000),
        concurrency=THREADS,
    )


def _measure(deps: DeliveryDeps, event: DistributionEvent) -> tuple[int, float, float]:
    request = DeliveryRequest.for_change(change(), event)
    cpu, wall = time.process_time(), time.perf_counter()
    record = deliver(request, deps=deps, stop=threading.Event())
    return record.sent, time.process_time() - cpu, time.perf_counter() - wall


def run(recipients: int, event: DistributionEvent) -> Measured:
    mail = NullMail()
    sent, cpu, wall = _measure(_deps(recipients, mail, DictLedger()), event)
    assert sent == mail.sent
    return Measured(sent, cpu, wall)


def run_moto(recipients: int, event: DistributionEvent) -> Measured:
    """The real SES and DynamoDB adapters on in-process moto (fresh backends per run)."""
    import boto3
    from moto import mock_aws

    from changecast.aws.dynamodb import DynamoDbLedger, create_ledger_table
    from changecast.aws.ses_mail import SesMailAdapter
    from changecast.aws.sessions import AwsClients

    config = demo_config(1, portal_url="http://portal.test")
    meter = CallMeter()
    with mock_aws():
        region = "us-east-1"
        boto3.client("ses", region_name=region).verify_email_identity(
            EmailAddress=config.email_config.sender_address
        )
        boto3.client("ses", region_name=region).verify_email_identity(
            EmailAddress=config.email_config.meeting_organizer
        )
        aws = AwsClients()
        sesv2 = aws.sending_client(region=region)  # one attempt per call, as the worker
        sesv2.create_contact_list(
            ContactListName="changecast",
            Topics=[
                {
                    "TopicName": topic.topic_name,
                    "DisplayName": topic.display_name,
                    "Description": topic.description,
                    "DefaultSubscriptionStatus": topic.default_subscription_status,
                }
                for topic in demo_ses_config().expanded_topics()
            ],
        )
        dynamodb = aws.client("dynamodb", region=region)
        create_ledger_table(dynamodb, "ledger")
        mail = SesMailAdapter(TimedClient(sesv2, meter))  # type: ignore[arg-type]
        ledger = DynamoDbLedger(TimedClient(dynamodb, meter), "ledger")  # type: ignore[arg-type]
        deps = _deps(recipients, mail, ledger)
        gc.callbacks.append(meter.on_gc)
        try:
            sent, cpu, wall = _measure(deps, event)
        finally:
            gc.callbacks.remove(meter.on_gc)
    return Measured(sent, cpu, wall, meter.seconds, meter.calls, meter.gc_outside)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recipients", type=int, default=2000)
    parser.add_argument("--moto-recipients", type=int, default=300)
    args = parser.parse_args()
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    run(50, DistributionEvent.APPROVED)  # warm up: imports, template compilation
    run_moto(20, DistributionEvent.APPROVED)  # and botocore's service models
    table = Table(title=f"Worker CPU per email ({THREADS} send threads, as for a 200/s account)")
    for column in (
        "setup",
        "event",
        "emails",
        "CPU s (all)",
        "botocore+moto CPU s",
        "AWS calls",
        "wall s",
        "of ours: GC ms/email",
        "our CPU ms/email",
        "target",
        "result",
    ):
        table.add_column(column, justify="right")
    failed = False
    for setup, runner, count in (
        ("fake SES + dict ledger", run, args.recipients),
        ("moto: SesMailAdapter + DynamoDbLedger", run_moto, args.moto_recipients),
    ):
        for event in (DistributionEvent.SUBMITTED, DistributionEvent.APPROVED):
            measured = runner(count, event)
            ok = measured.ours_ms <= TARGET_MS
            failed |= not ok
            table.add_row(
                setup,
                event.value,
                str(measured.sent),
                f"{measured.cpu:.3f}",
                f"{measured.aws_cpu:.3f}" if measured.aws_calls else "-",
                str(measured.aws_calls) if measured.aws_calls else "-",
                f"{measured.wall:.3f}",
                f"{measured.gc_outside / measured.sent * 1000:.3f}" if measured.aws_calls else "-",
                f"{measured.ours_ms:.3f}",
                f"≤ {TARGET_MS:g}",
                "[green]PASS[/green]" if ok else "[red]FAIL[/red]",
            )
    console.print(table)
    console.print("approved = announcement to every contact + invite to half of them (raw MIME)")
    console.print(
        "Method: our CPU = time.process_time() over deliver() minus the thread CPU time "
        "(time.thread_time) spent inside each boto3 client call (botocore serialising, signing "
        "and parsing, and moto answering in-process), summed over the send threads. Contacts "
        "and the object store are in memory in both setups. 'of ours: GC' is the part of ours "
        "spent in garbage collections that ran outside the calls (mostly botocore's and moto's "
        "garbage); it is not subtracted."
    )
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()

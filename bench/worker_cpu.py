"""Benchmark our CPU per email: one trigger delivered to many recipients through a fake SES.

Run: ``uv run python bench/worker_cpu.py [--recipients 2000]``. The fakes (SES, ledger, store)
do almost nothing, so the CPU measured is the worker's own: routing, rendering once, the ledger
protocol, pacing and building each message. PASS at 1 ms of CPU per email or less.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import threading
import time
import uuid
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
from changecast.delivery.models import DistributionEvent
from changecast.delivery.pacing import TokenBucket
from changecast.delivery.service import DeliveryDeps, DeliveryRequest, deliver
from changecast.local.demo import demo_config, demo_ses_config
from changecast.ports import StoredObject, SystemClock

TARGET_MS = 1.0
console = Console()


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


def run(recipients: int, event: DistributionEvent) -> tuple[int, float, float]:
    config = demo_config(1, portal_url="http://portal.test")
    mail = NullMail()
    info = ContactListInfo(name="changecast", topics=desired_topics(demo_ses_config()))
    deps = DeliveryDeps(
        customer=config.customer_mappings["acme"],
        email_config=config.email_config,
        store=DictStore(),
        ses=Account(mail, ListContacts(info, contacts(recipients, 2))),
        ledger=DictLedger(),
        clock=SystemClock(),
        owner="bench",
        lease=timedelta(seconds=60),
        bucket=TokenBucket(1_000_000),
    )
    request = DeliveryRequest.for_change(change(), event)
    cpu, wall = time.process_time(), time.perf_counter()
    deliver(request, deps=deps, stop=threading.Event())
    return mail.sent, time.process_time() - cpu, time.perf_counter() - wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recipients", type=int, default=2000)
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    run(50, DistributionEvent.APPROVED)  # warm up: imports, template compilation
    table = Table(title="Worker CPU per email (fake SES, in-memory ledger)")
    for column in ("event", "emails", "CPU s", "wall s", "CPU ms/email", "result"):
        table.add_column(column, justify="right")
    failed = False
    for event in (DistributionEvent.SUBMITTED, DistributionEvent.APPROVED):
        sent, cpu, wall = run(args.recipients, event)
        per_email = cpu / sent * 1000
        ok = per_email <= TARGET_MS
        failed |= not ok
        table.add_row(
            event.value,
            str(sent),
            f"{cpu:.3f}",
            f"{wall:.3f}",
            f"{per_email:.3f}",
            "[green]PASS[/green]" if ok else "[red]FAIL[/red]",
        )
    console.print(table)
    console.print("approved = announcement to every contact + invite to half of them (raw MIME)")
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()

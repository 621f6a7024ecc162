"""Edit after approval, end to end: the real change services write triggers, the real worker
(``CustomerProcessor`` → ``deliver``) sends them through the fake SES; what each recipient gets.
"""

from __future__ import annotations

import email
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from pathlib import Path

import icalendar
import pytest

from changecast.access.models import Actor, Role
from changecast.actions import drafts, pipeline
from changecast.actions.context import ActionResult, ChangeDeps
from changecast.actions.pipeline import ActionRequest
from changecast.changes.archive import ChangeArchive
from changecast.changes.models import Action, ChangeStatus
from changecast.contacts.models import Contact, TopicPreference
from changecast.customers.directory import CustomerDirectory
from changecast.delivery.pacing import Backoff, TokenBucket
from changecast.delivery.redelivery import s3_event_body
from changecast.delivery.service import DeliveryDeps
from changecast.ids import ChangeId
from changecast.index.engine import open_index
from changecast.local.demo import demo_config
from changecast.workers.processing import CustomerProcessor, Outcome
from tests.builders import change_edit, change_input
from tests.delivery_support import StepClock, demo_contact_list
from tests.fakes.ledger import MemoryLedger
from tests.fakes.mail import FakeMail, FakeSesAccount, SentMail
from tests.fakes.store import MemoryObjectStore

CONFIG = demo_config(3, portal_url="http://portal.test")
ACME = CONFIG.customer_mappings["acme"].model_copy(update={"timezone": "Europe/Berlin"})
BUCKET = "changecast-test"
NEVER = threading.Event()
CREATOR = Actor(email="manager@ccoe.example.com", role=Role.CHANGE_MANAGER)
APPROVER = Actor(email="approver@ccoe.example.com", role=Role.CHANGE_MANAGER)  # four eyes
EVERYONE = "everyone@acme.example.com"  # subscribed to approvals, announcements and invites


class FixedClock:
    def __init__(self) -> None:
        self.at = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at


@dataclass
class Portal:
    """The change services and one customer's worker over one bucket."""

    deps: ChangeDeps
    store: MemoryObjectStore
    mail: FakeMail = field(default_factory=FakeMail)
    seen: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        contacts = demo_contact_list(ACME, 5)
        contacts.create_contact(
            ACME.contact_list_name,
            Contact(
                email=EVERYONE,
                preferences=tuple(
                    TopicPreference(topic=t, status="OPT_IN")
                    for t in ("aws-approval", "aws-announce", "aws-calendar")
                ),
            ),
        )
        self.worker = CustomerProcessor(
            deps=DeliveryDeps(
                customer=ACME,
                email_config=CONFIG.email_config,
                store=self.store,
                ses=FakeSesAccount(self.mail, contacts),
                ledger=MemoryLedger(),
                clock=StepClock(),
                owner="worker-1",
                backoff=Backoff(base=0.001, cap=0.002),
                sleep=lambda _: None,
                bucket=TokenBucket(1_000_000),
            ),
            bucket=BUCKET,
        )

    def run_worker(self, result: ActionResult) -> list[str]:
        """Deliver every trigger the action wrote, as the queue would; their keys."""
        assert result.distribution is not None
        keys = [r.key for r in result.distribution.results if r.key not in self.seen]
        for key in keys:
            verdict = self.worker.handle(s3_event_body(BUCKET, key), stop=NEVER)
            assert verdict.outcome is Outcome.DONE, verdict.reason
            self.seen.add(key)
        return [k.rsplit("/", 1)[1].split("-", 5)[-1] for k in keys]


@pytest.fixture
def portal(tmp_path: Path) -> Iterator[Portal]:
    store = MemoryObjectStore()
    index = open_index(f"sqlite:///{tmp_path / 'index.db'}")
    deps = ChangeDeps(
        archive=ChangeArchive(store),
        index=index,
        directory=CustomerDirectory(CONFIG),
        clock=FixedClock(),
        allow_self_approval=False,
    )
    yield Portal(deps=deps, store=store)
    index.close()


def calendar_of(sent: SentMail) -> icalendar.Component:
    message = email.message_from_bytes(sent.raw)
    parts = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    assert len(parts) == 1
    part: Message = parts[0]
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return icalendar.Calendar.from_ical(payload)


def received(mail: FakeMail, recipient: str) -> list[str]:
    """What one recipient got, in order: an email's subject prefix and version, or an invite."""
    out = []
    for sent in mail.to(recipient):
        if sent.kind == "raw":
            calendar = calendar_of(sent)
            event = calendar.walk("VEVENT")[0]
            out.append(f"{calendar['METHOD']} {event['SEQUENCE']} {event['UID']}")
        else:
            out.append(sent.subject)
    return out


def test_submit_approve_edit_approve_cancel_gives_each_recipient_exactly_the_right_mail(
    portal: Portal,
) -> None:
    deps = portal.deps
    draft = drafts.create_draft(
        deps=deps, actor=CREATOR, data=change_input(customers=["acme"], title="Router swap")
    )
    cid = ChangeId(draft.change_id)
    uid = f"{cid}-acme@ccoe.example.com"

    assert portal.run_worker(
        pipeline.perform(
            deps=deps, actor=CREATOR, change_id=cid, request=ActionRequest(Action.SUBMIT)
        )
    ) == ["v1-submitted.json"]
    assert portal.run_worker(
        pipeline.perform(
            deps=deps, actor=APPROVER, change_id=cid, request=ActionRequest(Action.APPROVE)
        )
    ) == ["v1-approved.json"]
    edit = change_edit(
        1,
        customers=["acme"],
        title="Router swap",
        start="2030-03-08T10:00",
        end="2030-03-08T12:00",
    )
    edited = pipeline.perform(
        deps=deps, actor=CREATOR, change_id=cid, request=ActionRequest(Action.EDIT, edit=edit)
    )
    assert edited.change.status is ChangeStatus.SUBMITTED
    assert portal.run_worker(edited) == ["v2-submitted.json"]  # approvers only, no invite
    assert portal.run_worker(
        pipeline.perform(
            deps=deps, actor=APPROVER, change_id=cid, request=ActionRequest(Action.APPROVE)
        )
    ) == ["v2-updated.json"]
    assert portal.run_worker(
        pipeline.perform(
            deps=deps, actor=CREATOR, change_id=cid, request=ActionRequest(Action.CANCEL)
        )
    ) == ["v2-cancelled.json"]

    subject = "Change notification: Router swap"
    assert received(portal.mail, EVERYONE) == [
        f"[Approval requested] {subject} (version 1)",
        f"[Approved] {subject} (version 1)",
        f"REQUEST 1 {uid}",
        f"[Approval requested] {subject} (version 2)",
        f"[Updated] {subject} (version 2)",
        f"REQUEST 2 {uid}",
        f"[Cancelled] {subject} (version 2)",
        f"CANCEL 3 {uid}",
    ]
    by_topic = {
        "aws-approval": [
            f"[Approval requested] {subject} (version 1)",
            f"[Approval requested] {subject} (version 2)",
        ],
        "aws-announce": [
            f"[Approved] {subject} (version 1)",
            f"[Updated] {subject} (version 2)",
            f"[Cancelled] {subject} (version 2)",
        ],
        "aws-calendar": [f"REQUEST 1 {uid}", f"REQUEST 2 {uid}", f"CANCEL 3 {uid}"],
    }
    recipients = {m.to for m in portal.mail.sent}
    assert len(recipients) >= 3
    for recipient in recipients:
        for topic, expected in by_topic.items():
            got = [
                line
                for line, sent in zip(
                    received(portal.mail, recipient), portal.mail.to(recipient), strict=True
                )
                if sent.topic == topic
            ]
            assert got in ([], expected), (recipient, topic)

    texts = [m.text for m in portal.mail.to(EVERYONE) if m.kind == "simple"]
    # the approval request for v2 and the update show the diff in the customer's timezone
    for text in (texts[2], texts[3]):
        assert "What changed since version 1:" in text
        assert "Start: Fri 01 Mar 2030 16:00 CET → Fri 08 Mar 2030 16:00 CET" in text
        assert "End: Fri 01 Mar 2030 18:00 CET → Fri 08 Mar 2030 18:00 CET" in text
    assert "(version 2, approval request)" in texts[2]
    assert "(version 2, updated)" in texts[3]
    assert "(version 2, cancelled)" in texts[4]
    assert all("submitted)" not in t for t in texts[1:2] + texts[3:])
    invites = [calendar_of(m).walk("VEVENT")[0] for m in portal.mail.to(EVERYONE, "raw")]
    assert [e.decoded("DTSTART").day for e in invites] == [1, 8, 8]


def test_rejecting_an_edit_of_an_approved_change_withdraws_the_approved_schedule(
    portal: Portal,
) -> None:
    deps = portal.deps
    draft = drafts.create_draft(deps=deps, actor=CREATOR, data=change_input(customers=["acme"]))
    cid = ChangeId(draft.change_id)
    portal.run_worker(
        pipeline.perform(
            deps=deps, actor=CREATOR, change_id=cid, request=ActionRequest(Action.SUBMIT)
        )
    )
    portal.run_worker(
        pipeline.perform(
            deps=deps, actor=APPROVER, change_id=cid, request=ActionRequest(Action.APPROVE)
        )
    )
    edit = change_edit(1, customers=["acme"], start="2030-03-08T10:00", end="2030-03-08T12:00")
    portal.run_worker(
        pipeline.perform(
            deps=deps, actor=CREATOR, change_id=cid, request=ActionRequest(Action.EDIT, edit=edit)
        )
    )
    rejected = pipeline.perform(
        deps=deps, actor=APPROVER, change_id=cid, request=ActionRequest(Action.REJECT)
    )
    assert rejected.change.status is ChangeStatus.REJECTED
    assert portal.run_worker(rejected) == ["v2-withdrawn.json"]

    got = received(portal.mail, EVERYONE)
    assert got[-2:] == [
        "[Withdrawn] Change notification: Rotate TLS certificates (version 1)",
        f"CANCEL 3 {cid}-acme@ccoe.example.com",
    ]
    assert [line.split(" ")[:2] for line in got if line.startswith(("REQUEST", "CANCEL"))] == [
        ["REQUEST", "1"],
        ["CANCEL", "3"],
    ]
    withdrawn = portal.mail.to(EVERYONE, "simple")[-1]
    assert withdrawn.topic == "aws-announce"
    assert "Version 2 of this change for Acme Corporation was rejected" in withdrawn.text
    assert "(version 1, withdrawn)" in withdrawn.text
    cancel = calendar_of(portal.mail.to(EVERYONE, "raw")[-1]).walk("VEVENT")[0]
    assert cancel.decoded("DTSTART").day == 1  # the approved (withdrawn) window

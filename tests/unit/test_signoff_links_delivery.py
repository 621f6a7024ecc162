"""The approval request: per-recipient sign-off links, overlapping changes and overrides."""

from __future__ import annotations

import base64
import re
import threading
from datetime import UTC, datetime, timedelta

import pytest

from changecast.access.links import LinkExpiredError, LinkSigner
from changecast.access.signoff import Decision, SignoffLinks
from changecast.changes.models import ChangeStatus, Override
from changecast.delivery.approval_extras import ApprovalExtras, OverlapLine, overrides_of
from changecast.delivery.pacing import Backoff, TokenBucket
from changecast.delivery.personal import PLACEHOLDERS
from changecast.delivery.render import render_email
from changecast.delivery.service import DeliveryDeps, DeliveryRequest, deliver
from changecast.distribution.models import DistributionEvent
from changecast.local.demo import demo_config
from tests.delivery_support import CREATED, StepClock, demo_contact_list, stored_change
from tests.fakes.ledger import MemoryLedger
from tests.fakes.mail import FakeMail, FakeSesAccount
from tests.fakes.store import MemoryObjectStore

CONFIG = demo_config(3, portal_url="http://portal.test")
EMAIL = CONFIG.email_config
LINKS = SignoffLinks(LinkSigner("k" * 40), "http://portal.test", timedelta(days=7))
TOKEN = re.compile(r"http://portal\.test/signoff/([A-Za-z0-9_.-]+)")


def deps(mail: FakeMail, *, links: SignoffLinks | None = LINKS) -> DeliveryDeps:
    mapping = CONFIG.customer_mappings["acme"]
    return DeliveryDeps(
        customer=mapping,
        email_config=EMAIL,
        store=MemoryObjectStore(),
        ses=FakeSesAccount(mail, demo_contact_list(mapping, 4)),
        ledger=MemoryLedger(),
        clock=StepClock(),
        owner="w",
        backoff=Backoff(base=0.001, cap=0.002),
        sleep=lambda _: None,
        bucket=TokenBucket(1_000_000),
        recipient_links=links,
    )


def test_each_recipient_gets_links_bound_to_them_alone() -> None:
    mail = FakeMail(verified={EMAIL.sender_address, EMAIL.meeting_organizer})
    change = stored_change(status=ChangeStatus.SUBMITTED, approved_before=False)
    deliver(
        DeliveryRequest.for_change(change, DistributionEvent.SUBMITTED),
        deps=deps(mail),
        stop=threading.Event(),
    )
    assert len(mail.sent) == 2
    seen = set()
    for sent in mail.sent:
        assert not any(p in sent.html or p in sent.text for p in PLACEHOLDERS)
        assert "Approve for Acme Corporation" in sent.html
        html_tokens = TOKEN.findall(sent.html)
        assert TOKEN.findall(sent.text) == html_tokens
        approve, reject = html_tokens
        for token, decision in ((approve, Decision.APPROVE), (reject, Decision.REJECT)):
            decoded = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            local = sent.to.split("@")[0]
            assert local not in token and local.encode() not in decoded  # an opaque reference
            assert sent.to.encode() not in decoded
            link = LINKS.read(token, now=CREATED)  # that still resolves who answered
            assert (link.recipient, link.decision, link.version) == (sent.to, decision, 1)
            assert link.customer_code == "acme"
            seen.add(token)
    assert len(seen) == 4
    with pytest.raises(LinkExpiredError):  # seven days after the version was written
        LINKS.read(approve, now=change.modified_at + timedelta(days=7))


def test_without_a_link_secret_the_approval_request_has_no_links() -> None:
    mail = FakeMail(verified={EMAIL.sender_address, EMAIL.meeting_organizer})
    change = stored_change(status=ChangeStatus.SUBMITTED, approved_before=False)
    deliver(
        DeliveryRequest.for_change(change, DistributionEvent.SUBMITTED),
        deps=deps(mail, links=None),
        stop=threading.Event(),
    )
    assert mail.sent
    assert all("/signoff/" not in m.html and "Approve for" not in m.html for m in mail.sent)


def test_other_emails_never_carry_sign_off_links() -> None:
    mail = FakeMail(verified={EMAIL.sender_address, EMAIL.meeting_organizer})
    deliver(
        DeliveryRequest.for_change(stored_change(), DistributionEvent.APPROVED),
        deps=deps(mail),
        stop=threading.Event(),
    )
    assert mail.sent
    assert all("/signoff/" not in m.html for m in mail.sent)


def test_the_approval_request_names_overlaps_and_overrides_escaped() -> None:
    start = datetime(2030, 3, 1, 15, 0, tzinfo=UTC)
    change = stored_change(status=ChangeStatus.SUBMITTED, approved_before=False)
    change = change.model_copy(
        update={
            "overrides": [
                Override(
                    gate="blackout",
                    reason="CAB <approved> the freeze exception",
                    by="lead@ccoe.example.com",
                    at=start,
                    action="submit",
                    version=1,
                )
            ]
        }
    )
    extras = ApprovalExtras(
        overlaps=[
            OverlapLine(
                "0" * 8 + "-0000-4000-8000-" + "0" * 12,
                "Patch databases",
                2,
                "approved",
                start,
                start + timedelta(hours=2),
            )
        ],
        overrides=overrides_of(change),
    )
    email = render_email(
        change=change,
        event=DistributionEvent.SUBMITTED,
        customer=CONFIG.customer_mappings["acme"],
        email_config=EMAIL,
        extras=extras,
    )
    for part in (email.html, email.text):
        assert "Patch databases" in part
        assert "version 2, approved" in part
        assert "blackout" in part
    assert "CAB &lt;approved&gt; the freeze exception" in email.html
    assert "CAB <approved> the freeze exception" in email.text
    assert "http://portal.test/changes/00000000-0000-4000-8000-000000000000" in email.html

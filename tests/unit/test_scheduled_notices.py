"""Reminders, window notices and nudges: routed, rendered and delivered like every email."""

from __future__ import annotations

import threading

from changecast.changes.models import ChangeStatus
from changecast.customers.models import AppConfig, CustomerMapping
from changecast.delivery.redelivery import TriggerRef, redelivery_plan
from changecast.delivery.render import render_email
from changecast.delivery.service import DeliveryRequest, deliver
from changecast.distribution.models import DistributionEvent as E
from changecast.local.demo import demo_config
from tests.delivery_support import stored_change
from tests.unit.test_delivery_service import World, emails

CONFIG: AppConfig = demo_config(3, portal_url="http://portal.test")
NEVER = threading.Event()


def customer(code: str = "acme", **update: object) -> CustomerMapping:
    return CONFIG.customer_mappings[code].model_copy(update=update)


def rendered(event: E, mapping: CustomerMapping | None = None) -> tuple[str, str, str]:
    email = render_email(
        change=stored_change(),
        event=event,
        customer=mapping or customer(),
        email_config=CONFIG.email_config,
    )
    assert email.invite is None
    assert email.topic == "aws-announce"
    return email.subject, email.text, email.html


def test_a_reminder_shows_the_window_in_the_customers_timezone() -> None:
    # the window is 10:00-12:00 America/New_York on 1 March 2030: 16:00-18:00 in Berlin
    subject, text, html = rendered(E.REMINDER, customer(timezone="Europe/Berlin"))
    assert subject.startswith("[Reminder] ")
    assert "starts Fri 01 Mar 2030 16:00 CET and ends Fri 01 Mar 2030 18:00 CET" in text
    assert "(Europe/Berlin)" in html
    _, plain, _ = rendered(E.REMINDER, customer(timezone=None))
    assert "starts Fri 01 Mar 2030 10:00 EST" in plain


def test_window_notices_say_open_and_closed() -> None:
    opened, text, _ = rendered(E.WINDOW_OPEN)
    closed, later, _ = rendered(E.WINDOW_CLOSED)
    assert opened.startswith("[Window open] ")
    assert "is open now" in text
    assert closed.startswith("[Window closed] ")
    assert "closed at Fri 01 Mar 2030 12:00 EST" in later


def test_a_nudge_goes_to_the_creator_and_the_last_editor_only() -> None:
    world = World()
    change = stored_change(
        history=[
            {
                "action": "create",
                "status": "draft",
                "version": 1,
                "at": "2030-01-02T08:00:00Z",
                "by": "author@ccoe.example.com",
            },
            {
                "action": "edit",
                "status": "submitted",
                "version": 1,
                "at": "2030-01-02T08:00:00Z",
                "by": "Editor@ccoe.example.com",
            },
            {
                "action": "approve",
                "status": "approved",
                "version": 1,
                "at": "2030-01-02T08:00:00Z",
                "by": "approver@ccoe.example.com",
            },
        ]
    )
    record = deliver(DeliveryRequest.for_change(change, E.NUDGE), deps=world.deps(), stop=NEVER)
    assert emails(world.mail) == ["author@ccoe.example.com", "editor@ccoe.example.com"]
    assert record.sent == 2
    (sent, *_) = world.mail.sent
    assert sent.subject.startswith("[Still open] ")
    assert "author or last editor" in sent.text
    again = deliver(DeliveryRequest.for_change(change, E.NUDGE), deps=world.deps(), stop=NEVER)
    assert (again.sent, again.already_sent) == (0, 2)


def test_a_nudge_keeps_to_the_restricted_recipients_of_a_non_production_customer() -> None:
    world = World(code="globex")  # non-production: only ops-lead@globex.example.com
    change = stored_change()
    record = deliver(DeliveryRequest.for_change(change, E.NUDGE), deps=world.deps(), stop=NEVER)
    assert emails(world.mail) == []
    assert record.filtered == 1


def test_a_reminder_goes_to_the_announce_subscribers_once() -> None:
    world = World()
    change = stored_change()
    deliver(DeliveryRequest.for_change(change, E.REMINDER), deps=world.deps(), stop=NEVER)
    first = emails(world.mail)
    deliver(DeliveryRequest.for_change(change, E.REMINDER), deps=world.deps(), stop=NEVER)
    assert first and emails(world.mail) == first
    assert {m.topic for m in world.mail.sent} == {"aws-announce"}


def test_redelivery_drops_scheduled_notices_of_a_change_that_ended() -> None:
    refs = [
        TriggerRef(1, list(E).index(event), event, f"k-{event.value}")
        for event in (E.REMINDER, E.NUDGE)
    ]
    approved = stored_change()
    assert redelivery_plan(approved, refs, set()) == ["k-reminder", "k-nudge"]
    cancelled = stored_change(status=ChangeStatus.CANCELLED, approved_before=True)
    assert redelivery_plan(cancelled, refs, set()) == []

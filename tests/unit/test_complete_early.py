"""Completing a change early: the calendar entry must not stand beyond the completion.

Completed during the invite's window: a REQUEST (SEQUENCE version + 1) ends the event at the
completion; completed before the window began: a CANCEL; at or after its end: no invite.
"""

from __future__ import annotations

import email
import threading
from datetime import UTC, datetime
from pathlib import Path

import icalendar
import pytest

from changecast.changes.models import Change, ChangeStatus, HistoryEntry
from changecast.delivery.feed import FeedEntry, calendar_feed, feed_entry
from changecast.delivery.render import render_email
from changecast.delivery.router import CalendarMethod
from changecast.delivery.service import DeliveryRequest, deliver
from changecast.distribution.models import DistributionEvent
from changecast.local.demo import demo_config
from tests.delivery_support import stored_change
from tests.icaljs_support import ensure_icaljs, icaljs_times
from tests.unit.test_delivery_service import World

CONFIG = demo_config(3, portal_url="http://portal.test")
ACME = CONFIG.customer_mappings["acme"]
E, S = DistributionEvent, ChangeStatus
START = datetime(2030, 3, 1, 15, 0, tzinfo=UTC)  # 10:00 EST, for two hours
DURING = datetime(2030, 3, 1, 16, 10, tzinfo=UTC)
BEFORE = datetime(2030, 2, 27, 9, 0, tzinfo=UTC)
AFTER = datetime(2030, 3, 1, 18, 30, tzinfo=UTC)


def approved_change() -> Change:
    return stored_change(customers=["acme"], version=2, meetingInvite={})


def completed(change: Change, at: datetime) -> Change:
    entry = HistoryEntry.model_validate(
        {
            "action": "complete",
            "status": "completed",
            "version": change.version,
            "at": at,
            "by": "m@x.com",
        }
    )
    return change.model_copy(update={"status": S.COMPLETED, "history": [*change.history, entry]})


def test_completed_during_the_window_ends_the_invite_then() -> None:
    change = approved_change()
    rendered = render_email(
        change=change,
        event=E.COMPLETED,
        customer=ACME,
        email_config=CONFIG.email_config,
        completed_at=DURING,
    )
    assert rendered.invite is not None
    assert rendered.invite.method is CalendarMethod.REQUEST
    assert rendered.invite.topic == "aws-calendar"
    assert rendered.invite.subject == "Ended early: Rotate TLS certificates"
    event = icalendar.Calendar.from_ical(rendered.invite.invite.ics).walk("VEVENT")[0]
    assert event.decoded("DTSTART").astimezone(UTC) == START
    assert event.decoded("DTEND").astimezone(UTC) == DURING
    assert event["SEQUENCE"] == 3  # after the approval's REQUEST 2
    assert (
        "It was completed at Fri 01 Mar 2030 11:10 EST, before the end of its window: its "
        "calendar invite now ends then." in rendered.text
    )


def test_completed_before_the_window_cancels_the_invite() -> None:
    rendered = render_email(
        change=approved_change(),
        event=E.COMPLETED,
        customer=ACME,
        email_config=CONFIG.email_config,
        completed_at=BEFORE,
    )
    assert rendered.invite is not None
    assert rendered.invite.method is CalendarMethod.CANCEL
    assert rendered.invite.invite.sequence == 3
    assert "before its window began: its calendar invite is withdrawn" in rendered.text


def test_completed_after_the_window_sends_no_invite() -> None:
    rendered = render_email(
        change=approved_change(),
        event=E.COMPLETED,
        customer=ACME,
        email_config=CONFIG.email_config,
        completed_at=AFTER,
    )
    assert rendered.invite is None
    assert "before" not in rendered.text.split("\n\n")[2]


def test_the_completion_time_defaults_to_the_history() -> None:
    rendered = render_email(
        change=completed(approved_change(), DURING),
        event=E.COMPLETED,
        customer=ACME,
        email_config=CONFIG.email_config,
    )
    assert rendered.invite is not None and rendered.invite.invite.end.astimezone(UTC) == DURING


def test_the_worker_sends_calendar_subscribers_the_shortened_invite() -> None:
    world = World()
    change = approved_change()
    request = DeliveryRequest(
        change=change,
        event=E.COMPLETED,
        was_approved=True,
        invite_sent=True,
        completed_at=DURING,
    )
    deliver(request, deps=world.deps(), stop=threading.Event())
    invites = [m for m in world.mail.sent if m.kind == "raw"]
    assert sorted(m.to for m in invites) == [
        "ops-lead@acme.example.com",
        "sre-oncall@acme.example.com",
    ]
    message = email.message_from_bytes(invites[0].raw)
    (part,) = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    event = icalendar.Calendar.from_ical(payload).walk("VEVENT")[0]
    assert event.decoded("DTEND").astimezone(UTC) == DURING


@pytest.mark.parametrize(
    ("at", "method", "end"),
    [(DURING, "CONFIRMED", DURING), (BEFORE, "CANCELLED", None), (AFTER, "CONFIRMED", None)],
)
def test_the_feed_shows_the_completion_as_the_invite_did(
    at: datetime, method: str, end: datetime | None, tmp_path: Path
) -> None:
    change = completed(approved_change(), at)
    entry = feed_entry(change, lambda _c, _v: None)
    assert isinstance(entry, FeedEntry)
    feed = tmp_path / "feed.ics"
    feed.write_bytes(
        calendar_feed(
            [entry],
            customer_code="acme",
            customer_name="Acme",
            email_config=CONFIG.email_config,
            now=AFTER,
        )
    )
    (parsed,) = icaljs_times(ensure_icaljs(), [feed])
    (event,) = parsed.events
    assert event.status == method
    assert event.start == START
    assert event.end == (end or datetime(2030, 3, 1, 17, 0, tzinfo=UTC))
    assert event.sequence == (3 if at != AFTER else 2)

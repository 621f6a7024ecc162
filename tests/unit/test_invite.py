"""Calendar invites: METHOD, UID, SEQUENCE, TZID with VTIMEZONE, attendees."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar
import pytest

from changecast.delivery.invite import Invite, build_invite, with_attendee
from changecast.delivery.router import CalendarMethod
from changecast.errors import InvalidInputError
from changecast.local.demo import demo_config
from tests.delivery_support import stored_change

EMAIL = demo_config(1, portal_url="http://portal.test").email_config
NOW = datetime(2030, 1, 5, 12, 0, tzinfo=UTC)


def invite(method: CalendarMethod = CalendarMethod.REQUEST, **change: object) -> Invite:
    return build_invite(
        change=stored_change(**change),  # type: ignore[arg-type]
        customer_code="acme",
        email_config=EMAIL,
        method=method,
        now=NOW,
        organizer_name="CCoE",
    )


def event_of(ics: bytes) -> tuple[icalendar.Calendar, icalendar.Component]:
    calendar = icalendar.Calendar.from_ical(ics)
    return calendar, calendar.walk("VEVENT")[0]


def test_a_request_carries_method_uid_sequence_organizer_and_the_local_timezone() -> None:
    made = invite(change_id="11111111-2222-4333-8444-555555555555", version=3)
    calendar, event = event_of(made.ics)
    assert calendar["METHOD"] == "REQUEST"
    assert event["UID"] == "11111111-2222-4333-8444-555555555555-acme@ccoe.example.com"
    assert event["SEQUENCE"] == 3
    assert str(event["ORGANIZER"]) == "mailto:ccoe-calendar@ccoe.example.com"
    assert event["ORGANIZER"].params["CN"] == "CCoE"
    assert event["STATUS"] == "CONFIRMED"
    assert event["DTSTART"].params["TZID"] == "America/New_York"
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["America/New_York"]
    start = event.decoded("DTSTART")
    assert start.astimezone(UTC) == datetime(2030, 3, 1, 15, 0, tzinfo=UTC)
    assert event.decoded("DTEND") - start == timedelta(hours=2)
    assert (event["SUMMARY"], event["LOCATION"]) == ("TLS window", "Teams")


def test_a_reschedule_keeps_the_uid_and_raises_the_sequence() -> None:
    change_id = "11111111-2222-4333-8444-555555555555"
    first = invite(change_id=change_id, version=1)
    moved = invite(change_id=change_id, version=2, start="2030-03-02T10:00", end="2030-03-02T12:00")
    assert moved.uid == first.uid
    assert moved.sequence == first.sequence + 1
    assert event_of(moved.ics)[1].decoded("DTSTART").day == 2


def test_a_cancel_has_the_same_uid_status_cancelled_and_a_higher_sequence() -> None:
    change_id = "11111111-2222-4333-8444-555555555555"
    request = invite(change_id=change_id, version=2)
    cancel = invite(CalendarMethod.CANCEL, change_id=change_id, version=2)
    calendar, event = event_of(cancel.ics)
    assert calendar["METHOD"] == "CANCEL"
    assert event["STATUS"] == "CANCELLED"
    assert event["UID"] == request.uid
    assert cancel.sequence > request.sequence


def test_the_meeting_invite_overrides_title_start_duration_and_location() -> None:
    made = invite(
        meetingInvite={
            "title": "Bridge call",
            "startTime": "2030-03-01T09:30",
            "duration": 45,
            "location": "Room 4",
        }
    )
    event = event_of(made.ics)[1]
    assert (event["SUMMARY"], event["LOCATION"]) == ("Bridge call", "Room 4")
    assert event.decoded("DTSTART").hour == 9
    assert event.decoded("DTEND") - event.decoded("DTSTART") == timedelta(minutes=45)


def test_without_a_meeting_invite_the_implementation_window_is_used() -> None:
    made = invite(meetingInvite=None, title="Patch the routers")
    event = event_of(made.ics)[1]
    assert event["SUMMARY"] == "Patch the routers"
    assert "LOCATION" not in event
    assert event.decoded("DTEND") - event.decoded("DTSTART") == timedelta(hours=2)


def test_an_attendee_is_added_folded_and_parses_back() -> None:
    address = "a-very-long-local-part-for-folding-purposes@subdomain.acme.example.com"
    ics = with_attendee(invite(), address)
    assert all(len(line) <= 75 for line in ics.split(b"\r\n"))
    event = event_of(ics)[1]
    assert str(event["ATTENDEE"]) == f"mailto:{address}"
    with pytest.raises(InvalidInputError):
        with_attendee(invite(), "x@example.com\r\nATTENDEE:mailto:evil@example.com")


def test_a_change_without_a_schedule_has_no_invite() -> None:
    change = stored_change()
    bare = change.model_copy(
        update={"change_metadata": change.change_metadata.model_copy(update={"schedule": None})}
    )
    with pytest.raises(InvalidInputError, match="no schedule"):
        build_invite(
            change=bare,
            customer_code="acme",
            email_config=EMAIL,
            method=CalendarMethod.REQUEST,
            now=NOW,
        )

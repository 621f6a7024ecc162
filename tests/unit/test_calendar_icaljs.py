"""Feeds and invites read by Mozilla's ical.js give the real zone's times (zoneinfo).

Windows across two years and both DST changes, in three zones: every VTIMEZONE must cover every
instant it is used for, or ical.js (as Thunderbird) shows the window an hour off.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from changecast.changes.models import Change
from changecast.delivery.feed import FeedEntry, calendar_feed
from changecast.delivery.invite import build_invite, with_attendee
from changecast.delivery.router import CalendarMethod
from changecast.local.demo import demo_config
from tests.delivery_support import stored_change
from tests.icaljs_support import ensure_icaljs, icaljs_times

EMAIL = demo_config(1, portal_url="http://portal.test").email_config
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

WINDOWS = [  # (zone, local start, local end): both years, around both DST changes
    ("America/New_York", "2027-01-15T20:00", "2027-01-15T23:00"),
    ("America/New_York", "2027-03-13T22:00", "2027-03-14T04:00"),  # spans spring forward
    ("America/New_York", "2027-07-01T20:00", "2027-07-01T23:00"),
    ("America/New_York", "2027-11-06T23:00", "2027-11-07T03:00"),  # spans fall back
    ("America/New_York", "2028-03-11T22:00", "2028-03-12T04:00"),
    ("America/New_York", "2028-07-04T20:00", "2028-07-04T23:00"),
    ("America/New_York", "2028-11-04T23:00", "2028-11-05T03:00"),
    ("America/New_York", "2028-12-20T20:00", "2028-12-20T22:00"),
    ("Europe/Berlin", "2027-03-27T22:00", "2027-03-28T05:00"),
    ("Europe/Berlin", "2027-10-30T22:00", "2027-10-31T05:00"),
    ("Europe/Berlin", "2028-08-01T09:00", "2028-08-01T11:00"),
    ("Europe/Berlin", "2028-10-28T22:00", "2028-10-29T05:00"),
    ("Australia/Sydney", "2027-04-03T22:00", "2027-04-04T05:00"),  # southern: April back
    ("Australia/Sydney", "2027-10-02T22:00", "2027-10-03T05:00"),
    ("Australia/Sydney", "2028-01-10T09:00", "2028-01-10T11:00"),
    ("Australia/Sydney", "2028-06-10T09:00", "2028-06-10T11:00"),
]


@pytest.fixture(scope="session")
def icaljs() -> Path:
    return ensure_icaljs()


def changes() -> list[Change]:
    return [
        stored_change(customers=["acme"], start=start, end=end, timezone=zone, meetingInvite={})
        for zone, start, end in WINDOWS
    ]


def real_utc(zone: str, local: str) -> datetime:
    return datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


def expected(change: Change) -> tuple[datetime, datetime]:
    schedule = change.change_metadata.schedule
    assert schedule is not None
    return schedule.start_utc, schedule.end_utc


def test_the_windows_really_cross_both_dst_changes() -> None:
    offsets = {
        real_utc(zone, start).astimezone(ZoneInfo(zone)).utcoffset()
        != real_utc(zone, end).astimezone(ZoneInfo(zone)).utcoffset()
        for zone, start, end in WINDOWS
    }
    assert offsets == {True, False}


def test_a_feed_spanning_two_years_reads_the_real_zones_times_in_icaljs(
    icaljs: Path, tmp_path: Path
) -> None:
    made = changes()
    entries = [FeedEntry(c, CalendarMethod.REQUEST, c.version) for c in made]
    feed = tmp_path / "feed.ics"
    feed.write_bytes(
        calendar_feed(
            entries, customer_code="acme", customer_name="Acme", email_config=EMAIL, now=NOW
        )
    )
    (parsed,) = icaljs_times(icaljs, [feed])
    assert sorted(parsed.tzids) == ["America/New_York", "Australia/Sydney", "Europe/Berlin"]
    by_uid = {event.uid: event for event in parsed.events}
    assert len(by_uid) == len(made)
    wrong = []
    for change, (zone, start, end) in zip(made, WINDOWS, strict=True):
        event = by_uid[f"{change.change_id}-acme@{EMAIL.domain}"]
        assert event.tzid == zone
        real = (real_utc(zone, start), real_utc(zone, end))
        assert real == expected(change)
        if (event.start, event.end) != real:
            wrong.append((zone, start, end, event.start, event.end, *real))
    assert wrong == []


@pytest.mark.parametrize("method", [CalendarMethod.REQUEST, CalendarMethod.CANCEL])
def test_every_invite_reads_the_real_zones_times_in_icaljs(
    icaljs: Path, tmp_path: Path, method: CalendarMethod
) -> None:
    made = changes()
    files = []
    for number, change in enumerate(made):
        invite = build_invite(
            change=change, customer_code="acme", email_config=EMAIL, method=method, now=NOW
        )
        path = tmp_path / f"invite-{number}.ics"
        path.write_bytes(with_attendee(invite, f"person-{number}@acme.example.com"))
        files.append(path)
    parsed = icaljs_times(icaljs, files)
    for change, (zone, start, end), read in zip(made, WINDOWS, parsed, strict=True):
        assert read.method == method.value
        assert read.tzids == [zone]
        (event,) = read.events
        assert event.tzid == zone
        assert event.status == ("CANCELLED" if method is CalendarMethod.CANCEL else "CONFIRMED")
        assert (event.start, event.end) == (real_utc(zone, start), real_utc(zone, end))
        assert (event.start, event.end) == expected(change)

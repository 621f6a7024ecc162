"""Calendar feeds: which version each change shows, and the invites' UID and SEQUENCE."""

from __future__ import annotations

from datetime import UTC, datetime

import icalendar

from changecast.changes.models import Change, ChangeStatus, HistoryEntry
from changecast.delivery.feed import FeedEntry, calendar_feed, feed_entry
from changecast.delivery.invite import build_invite, invite_uid
from changecast.delivery.router import CalendarMethod
from changecast.local.demo import demo_config
from tests.delivery_support import CREATED, stored_change

EMAIL = demo_config(1, portal_url="http://portal.test").email_config
NOW = datetime(2030, 1, 5, 12, 0, tzinfo=UTC)
S = ChangeStatus


def nothing(change: Change, version: int) -> Change | None:
    return None


def events(entries: list[FeedEntry]) -> list[icalendar.Component]:
    ics = calendar_feed(
        entries, customer_code="acme", customer_name="Acme", email_config=EMAIL, now=NOW
    )
    calendar = icalendar.Calendar.from_ical(ics)
    assert "METHOD" not in calendar  # a subscription, not a scheduling message
    return list(calendar.walk("VEVENT"))


def with_entry(change: Change, action: str, status: S, version: int) -> Change:
    entry = HistoryEntry.model_validate(
        {"action": action, "status": status, "version": version, "at": CREATED, "by": "b@x.com"}
    )
    return change.model_copy(update={"history": [*change.history, entry], "status": status})


def test_an_approved_change_shows_the_invites_uid_and_sequence() -> None:
    change = stored_change(status=S.APPROVED, version=3)
    entry = feed_entry(change, nothing)
    assert entry is not None
    invite = build_invite(
        change=change,
        customer_code="acme",
        email_config=EMAIL,
        method=CalendarMethod.REQUEST,
        now=NOW,
    )
    (event,) = events([entry])
    assert str(event["UID"]) == invite.uid == invite_uid(change.change_id, "acme", EMAIL.domain)
    assert int(str(event["SEQUENCE"])) == invite.sequence == 3
    assert str(event["STATUS"]) == "CONFIRMED"
    assert event.decoded("DTSTART") == invite.start


def test_a_cancelled_change_is_cancelled_with_the_cancels_sequence() -> None:
    change = with_entry(stored_change(status=S.APPROVED, version=2), "cancel", S.CANCELLED, 2)
    entry = feed_entry(change, nothing)
    assert entry is not None
    (event,) = events([entry])
    assert str(event["STATUS"]) == "CANCELLED"
    assert int(str(event["SEQUENCE"])) == 3  # invite_sequence(2, CANCEL)


def test_changes_never_approved_are_left_out() -> None:
    for status in (S.SUBMITTED, S.CANCELLED, S.REJECTED):
        assert feed_entry(stored_change(status=status, approved_before=False), nothing) is None


def test_an_edit_awaiting_approval_shows_the_approved_version_it_would_replace() -> None:
    approved = stored_change(status=S.APPROVED, version=1, title="Old title")
    edited = with_entry(
        approved.model_copy(update={"version": 2}), "edit", S.SUBMITTED, 2
    ).model_copy(
        update={"change_metadata": approved.change_metadata.model_copy(update={"title": "New"})}
    )

    def load(change: Change, version: int) -> Change | None:
        assert (change.change_id, version) == (approved.change_id, 1)
        return approved

    entry = feed_entry(edited, load)
    assert entry is not None
    (event,) = events([entry])
    assert int(str(event["SEQUENCE"])) == 1
    assert str(event["DESCRIPTION"]) == "Old title"  # the approved version, not the edit


def test_uids_stay_the_same_across_versions() -> None:
    first = stored_change(
        status=S.APPROVED, version=1, change_id="11111111-2222-4333-8444-555555555555"
    )
    second = first.model_copy(update={"version": 2})
    one = feed_entry(first, nothing)
    two = feed_entry(second, nothing)
    assert one is not None and two is not None
    (a,), (b,) = events([one]), events([two])
    assert str(a["UID"]) == str(b["UID"])
    assert (int(str(a["SEQUENCE"])), int(str(b["SEQUENCE"]))) == (1, 2)


def test_a_feed_of_several_changes_parses_with_one_timezone_each() -> None:
    entries = [
        feed_entry(stored_change(status=S.APPROVED), nothing),
        feed_entry(stored_change(status=S.COMPLETED, approved_before=True), nothing),
    ]
    ics = calendar_feed(
        [e for e in entries if e is not None],
        customer_code="acme",
        customer_name="Acme",
        email_config=EMAIL,
        now=NOW,
    )
    calendar = icalendar.Calendar.from_ical(ics)
    assert len(calendar.walk("VEVENT")) == 2
    zones = [str(z["TZID"]) for z in calendar.walk("VTIMEZONE")]
    assert zones == sorted(set(zones))

"""A customer's calendar feed (iCalendar): its approved and completed changes, cancelled ones too.

Each event is the one the customer's invites carry: built by ``invite.build_invite`` with the same
UID (per change and customer) and SEQUENCE (the approved version; a cancellation's is one more),
so a subscribed calendar and the invites agree. Only changes whose invite was ever due appear: a
change never approved is not in the feed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from changecast.changes.models import Change, ChangeStatus
from changecast.changes.windows import WindowIndex
from changecast.changes.workflow import replaced_version
from changecast.customers.models import EmailConfig
from changecast.delivery.invite import (
    PRODID,
    build_invite,
    completion_invite,
    completion_time,
    vtimezone,
)
from changecast.delivery.router import CalendarMethod

HISTORY = timedelta(days=90)
FEED_STATUSES = frozenset(
    {
        ChangeStatus.APPROVED,
        ChangeStatus.COMPLETED,
        ChangeStatus.CANCELLED,
        ChangeStatus.REJECTED,
        ChangeStatus.SUBMITTED,
    }
)
"""Rejected and submitted count only when an approved version stood before (see ``feed_entry``)."""


@dataclass(frozen=True)
class FeedEntry:
    """The version a feed shows for one change, and whether it is cancelled."""

    change: Change
    method: CalendarMethod
    sequence: int
    ended_at: datetime | None = None
    """A change completed during its window ends then (as its invite was updated)."""


def feed_entry(
    change: Change, approved: Callable[[Change, int], Change | None]
) -> FeedEntry | None:
    """What the feed shows for ``change`` (None: nothing). ``approved(change, v)`` loads version v.

    Approved or completed: the version itself; completed before the window's end, as the
    completion's invite (ended at the completion, or cancelled if its window had not begun,
    SEQUENCE version + 1). Cancelled, or rejected after an approval (a
    withdrawal): a cancellation, SEQUENCE version + 1, as the CANCEL invite. Submitted after an
    approval: the approved version it would replace, which still stands.
    """
    status = change.status
    if status is ChangeStatus.COMPLETED:  # as the completion's invite: ended early, or cancelled
        completed_at = completion_time(change)
        early = completion_invite(change, completed_at)
        if early is not None:
            ended = completed_at if early is CalendarMethod.REQUEST else None
            return FeedEntry(change, early, change.version + 1, ended_at=ended)
    if status in {ChangeStatus.APPROVED, ChangeStatus.COMPLETED}:
        return FeedEntry(change, CalendarMethod.REQUEST, change.version)
    if not change.was_approved():
        return None
    if status in {ChangeStatus.CANCELLED, ChangeStatus.REJECTED}:
        return FeedEntry(change, CalendarMethod.CANCEL, change.version + 1)
    if status is ChangeStatus.SUBMITTED:
        version = replaced_version(change.history, change.version)
        standing = None if version is None else approved(change, version)
        if standing is not None:
            return FeedEntry(standing, CalendarMethod.REQUEST, standing.version)
    return None


def feed_entries(windows: WindowIndex, customer_code: str, *, now: datetime) -> list[FeedEntry]:
    """The customer's entries: windows that ended in the last 90 days or end later."""
    found = windows.windows_for(
        customer=customer_code, statuses=FEED_STATUSES, ends_after=now - HISTORY
    )

    def approved(change: Change, version: int) -> Change | None:
        return windows.version_document(change.change_id, version)

    entries = (feed_entry(change, approved) for change in found)
    return [entry for entry in entries if entry is not None]


def calendar_feed(
    entries: Iterable[FeedEntry],
    *,
    customer_code: str,
    customer_name: str,
    email_config: EmailConfig,
    now: datetime,
) -> bytes:
    """One VCALENDAR (no METHOD: a subscription, not a scheduling message) of every entry.

    Each zone gets one VTIMEZONE, generated from zoneinfo over the span of every event in the
    feed (both DST transitions of every year in it), not an invite's VTIMEZONE, which covers
    only that invite's own years: a feed spans years, and a client like Mozilla's ical.js uses
    a VTIMEZONE's last rule past its end, an hour off once the real rules differ.
    """
    import icalendar

    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", f"Changes for {customer_name}")
    events: list[icalendar.cal.Component] = []
    spans: dict[str, tuple[date, date]] = {}
    for entry in entries:
        invite = build_invite(
            change=entry.change,
            customer_code=customer_code,
            email_config=email_config,
            method=entry.method,
            now=now,
            sequence=entry.sequence,
            description=entry.change.title,
            ended_at=entry.ended_at,
        )
        events += icalendar.Calendar.from_ical(invite.ics).walk("VEVENT")
        tzid = str(invite.start.tzinfo)
        first, last = spans.get(tzid, (invite.start.date(), invite.end.date()))
        spans[tzid] = (min(first, invite.start.date()), max(last, invite.end.date()))
    zones = [vtimezone(tzid, *span) for tzid, span in sorted(spans.items())]
    for component in [*zones, *events]:  # zones before the events that name them
        calendar.add_component(component)
    ics: bytes = calendar.to_ical()
    return ics

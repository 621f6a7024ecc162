"""Calendar invites (iCalendar, RFC 5545/5546) for a change window, built with ``icalendar``.

One UID per (change, customer) so a reschedule updates and a cancel removes the same event.
The calendar is built once per trigger; ``with_attendee`` adds each recipient cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import TYPE_CHECKING

from changecast.changes.models import Action, Change, invite_window
from changecast.customers.models import EmailConfig
from changecast.delivery.router import CalendarMethod
from changecast.errors import InvalidInputError

if TYPE_CHECKING:
    import icalendar  # imported where an invite is built: most deliveries send none

PRODID = "-//changecast//change notices//EN"
_FOLD_AT = 75
_END_EVENT = b"END:VEVENT\r\n"


def invite_uid(change_id: str, customer_code: str, domain: str) -> str:
    """Stable per change and customer: every version and the cancel share it."""
    return f"{change_id}-{customer_code}@{domain}"


def completion_time(change: Change) -> datetime | None:
    """When the change was completed, from its history (None when it was not)."""
    for entry in reversed(change.history):
        if entry.action is Action.COMPLETE:
            return entry.at
    return None


def completion_invite(change: Change, completed_at: datetime | None) -> CalendarMethod | None:
    """What a completion does to the invite customers hold (None: nothing).

    Completed during the invite's window: a REQUEST that ends the event at the completion, so
    the calendar entry does not stand beyond it. Completed before the invite's window began: a
    CANCEL (the window was never used). Completed at or after its end: nothing. Either is sent
    with SEQUENCE version + 1 (see ``invite_sequence``).
    """
    window = invite_window(change)
    if window is None or completed_at is None or completed_at >= window[1]:
        return None
    return CalendarMethod.REQUEST if completed_at > window[0] else CalendarMethod.CANCEL


def invite_sequence(version: int, method: CalendarMethod) -> int:
    """The SEQUENCE of an invite sent for ``version`` of a change: the version, +1 for a CANCEL.

    The rule that keeps every recipient's SEQUENCE strictly increasing:
    - only an approval sends a REQUEST (approved for v1, updated for a later version), at most
      once per version, and versions only grow, so REQUEST SEQUENCEs grow (gaps are fine:
      an update that moves neither schedule nor meeting sends no invite);
    - a CANCEL (cancelled, or withdrawn when version n replacing an approved one is rejected)
      is sent for the latest version n, whose REQUEST, if any, had n; it gets n + 1, and it is
      the last invite, since both end the change.
    So: submit, approve (REQUEST 1), edit, approve (REQUEST 2), cancel (CANCEL 3); or approve
    (REQUEST 1), edit, reject (withdrawn, CANCEL 3).

    A completion before the window's end (``completion_invite``) is also last: its REQUEST
    (the event ending at the completion) or CANCEL gets version + 1, set by its caller.
    """
    return version + (1 if method is CalendarMethod.CANCEL else 0)


@dataclass(frozen=True)
class Invite:
    """One calendar object without attendees, plus what identifies it."""

    method: CalendarMethod
    uid: str
    sequence: int
    summary: str
    start: datetime
    end: datetime
    ics: bytes


def _event(
    invite: Invite, *, location: str | None, organizer: str, organizer_name: str, now: datetime
) -> icalendar.Event:
    import icalendar

    event = icalendar.Event()
    event.add("uid", invite.uid)
    event.add("sequence", invite.sequence)
    event.add("dtstamp", now)
    event.add("dtstart", invite.start)
    event.add("dtend", invite.end)
    event.add("summary", invite.summary)
    if location:
        event.add("location", location)
    address = icalendar.vCalAddress(f"mailto:{organizer}")
    if organizer_name:
        address.params["CN"] = organizer_name
    event.add("organizer", address)
    event.add("status", "CANCELLED" if invite.method is CalendarMethod.CANCEL else "CONFIRMED")
    event.add("transp", "OPAQUE")
    return event


def build_invite(
    *,
    change: Change,
    customer_code: str,
    email_config: EmailConfig,
    method: CalendarMethod,
    now: datetime,
    organizer_name: str = "",
    description: str = "",
    sequence: int | None = None,
    ended_at: datetime | None = None,
) -> Invite:
    """The VCALENDAR with METHOD, VTIMEZONE and one VEVENT in the change's timezone.

    ``sequence`` defaults to ``invite_sequence(change.version, method)``; a withdrawal cancels
    the replaced version's event with the SEQUENCE of the rejected version. ``ended_at`` ends
    the event early (a change completed during its window: ``completion_invite``).
    """
    import icalendar

    window = invite_window(change)
    schedule = change.change_metadata.schedule
    if window is None or schedule is None:
        raise InvalidInputError(
            f"change {change.change_id} has no schedule, so no invite can be built",
            change_id=change.change_id,
        )
    meeting = change.meeting_invite
    invite = Invite(
        method=method,
        uid=invite_uid(change.change_id, customer_code, email_config.domain),
        sequence=invite_sequence(change.version, method) if sequence is None else sequence,
        summary=(meeting.title if meeting and meeting.title else None) or change.title,
        start=window[0].astimezone(schedule.zone),
        end=(ended_at or window[1]).astimezone(schedule.zone),
        ics=b"",
    )
    event = _event(
        invite,
        location=meeting.location if meeting else None,
        organizer=email_config.meeting_organizer,
        organizer_name=organizer_name,
        now=now,
    )
    if description:
        event.add("description", description)
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", method.value)
    calendar.add_component(event)
    calendar.subcomponents.insert(
        0, vtimezone(schedule.timezone, invite.start.date(), invite.end.date())
    )
    return replace(invite, ics=calendar.to_ical())


def vtimezone(tzid: str, first: date, last: date) -> icalendar.Timezone:
    """The VTIMEZONE of ``tzid`` for events from ``first`` to ``last`` (whole years around them).

    Every STANDARD and DAYLIGHT onset of those years is listed, from zoneinfo, so each instant
    of each event falls inside the rules the zone really had then (a calendar extrapolates a
    VTIMEZONE's last rule past its end). Each onset is its own sub-component with its own
    DTSTART and no RDATE: Mozilla's ical.js ignores the DTSTART of a sub-component that has
    RDATEs, which would put the first year's summer an hour off.
    """
    import icalendar

    generated = icalendar.Timezone.from_tzid(
        tzid, first_date=date(first.year, 1, 1), last_date=date(last.year + 1, 1, 1)
    )
    zone = icalendar.Timezone()
    for name, value in generated.property_items(recursive=False):
        if name not in {"BEGIN", "END"}:
            zone.add(name, value)
    onsets: list[tuple[datetime, icalendar.cal.Component]] = []
    for rule in generated.subcomponents:
        starts = [rule.decoded("DTSTART"), *(start for start, _ in rule.rdates)]
        for start in starts:
            onset: icalendar.cal.Component = type(rule)()
            for name, value in rule.property_items(recursive=False):
                if name not in {"BEGIN", "END", "DTSTART", "RDATE"}:
                    onset.add(name, value)
            onset.add("dtstart", start)
            onsets.append((start, onset))
    for _, onset in sorted(onsets, key=lambda pair: pair[0]):
        zone.add_component(onset)
    return zone


def _fold(line: str) -> bytes:
    """RFC 5545 folding: at most 75 octets per line, never inside a UTF-8 character."""
    out = bytearray()
    width = 0
    for char in line:
        encoded = char.encode()
        if width + len(encoded) > _FOLD_AT:
            out += b"\r\n "
            width = 1
        out += encoded
        width += len(encoded)
    return bytes(out) + b"\r\n"


def with_attendee(invite: Invite, address: str) -> bytes:
    """The invite's bytes with ``address`` as its (only) ATTENDEE."""
    if any(char in address for char in "\r\n"):
        raise InvalidInputError("an attendee address must be one line")
    params = "ROLE=REQ-PARTICIPANT;RSVP=FALSE"
    if invite.method is CalendarMethod.REQUEST:
        params += ";PARTSTAT=NEEDS-ACTION"
    line = _fold(f"ATTENDEE;{params}:mailto:{address}")
    head, found, tail = invite.ics.rpartition(_END_EVENT)
    if not found:
        raise ValueError("the invite has no VEVENT")
    return head + line + found + tail

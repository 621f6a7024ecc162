"""What a new version changes for a customer: old → new rows, times in the customer's timezone.

The times, the meeting and the title are compared as a customer reads them (the window in the
customer's timezone, the meeting as the invite has it); every other field a customer sees comes
from the portal's version diff (``changes.version_diff``): short values as old → new, texts as a
short word diff, or "changed" with a link to the full diff when the word diff is not short.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from changecast.changes.models import Change, invite_window
from changecast.changes.version_diff import WordPiece, diff_documents, word_diff
from changecast.customers.models import CustomerMapping
from changecast.delivery.view import when


@dataclass(frozen=True)
class ChangedField:
    """One field whose value differs between the replaced version and the new one."""

    label: str
    old: str
    new: str
    words: tuple[WordPiece, ...] | None = None
    """A text field's word diff (shown instead of old → new)."""
    long: bool = False
    """A text field whose word diff is too long for the email: it links to the portal's diff."""


_COMPARED_HERE = frozenset(
    {
        "Title",
        "Customers",  # never shown to a customer: it names the other customers
        "Implementation start",
        "Implementation end",
        "Meeting title",
        "Meeting start",
        "Meeting duration (minutes)",
        "Meeting location",
    }
)
"""Portal diff fields this module compares itself (as the customer reads them), or never shows."""
TEXTS = frozenset(
    {
        "Reason for the change",
        "Implementation plan",
        "Test plan",
        "Expected customer impact",
        "Rollback plan",
    }
)
"""Free texts: always a word diff (or "changed" with a link), never old → new whole."""
SHORT_VALUE = 80
"""Another field's one-line value up to this long is shown whole (old → new)."""


def reading_zone(customer: CustomerMapping, change: Change) -> ZoneInfo | None:
    """The customer's timezone, else the change's schedule timezone."""
    if customer.timezone:
        return ZoneInfo(customer.timezone)
    schedule = change.change_metadata.schedule
    return schedule.zone if schedule is not None else None


def _at(moment: datetime | None, zone: ZoneInfo | None) -> str:
    if moment is None:
        return "none"
    return when(moment.astimezone(zone) if zone is not None else moment)


def _window(change: Change) -> tuple[datetime | None, datetime | None]:
    schedule = change.change_metadata.schedule
    return (None, None) if schedule is None else (schedule.start_utc, schedule.end_utc)


def _meeting(change: Change) -> tuple[str, datetime | None, datetime | None, str]:
    invite = change.meeting_invite
    window = invite_window(change)
    start, end = window if window is not None else (None, None)
    title = (invite.title if invite and invite.title else None) or change.title
    location = (invite.location if invite and invite.location else None) or "none"
    return title, start, end, location


def _own_meeting_time(change: Change) -> bool:
    invite = change.meeting_invite
    return invite is not None and (invite.start_time is not None or invite.duration is not None)


def changed_fields(old: Change, new: Change, *, customer: CustomerMapping) -> list[ChangedField]:
    """Title, window, meeting and location rows that differ, in reading order."""
    zone = reading_zone(customer, new)
    old_window, new_window = _window(old), _window(new)
    old_meeting, new_meeting = _meeting(old), _meeting(new)
    rows = [
        ("Title", old.title, new.title),
        ("Start", _at(old_window[0], zone), _at(new_window[0], zone)),
        ("End", _at(old_window[1], zone), _at(new_window[1], zone)),
        ("Meeting", old_meeting[0], new_meeting[0]),
    ]
    if _own_meeting_time(old) or _own_meeting_time(new):  # else the meeting is the window
        rows += [
            ("Meeting start", _at(old_meeting[1], zone), _at(new_meeting[1], zone)),
            ("Meeting end", _at(old_meeting[2], zone), _at(new_meeting[2], zone)),
        ]
    rows.append(("Location", old_meeting[3], new_meeting[3]))
    found = [ChangedField(label, a, b) for label, a, b in rows if a != b]
    return found + _text_fields(old, new)


def _text_fields(old: Change, new: Change) -> list[ChangedField]:
    """The other fields the portal's diff shows as changed (tickets, plans, impact, …)."""
    rows = []
    for item in diff_documents(old.to_json_dict(), new.to_json_dict()):
        if not item.changed or item.label in _COMPARED_HERE:
            continue
        before, after = item.before, item.after
        short = all(len(v) <= SHORT_VALUE and "\n" not in v for v in (before, after))
        if short and item.label not in TEXTS:
            rows.append(ChangedField(item.label, before or "none", after or "none"))
            continue
        words = word_diff(before, after)
        rows.append(ChangedField(item.label, before, after, words=words, long=words is None))
    return rows

"""Wall-clock times in a timezone: the ones that do not exist (a DST gap) or exist twice (a fold).

A schedule is typed as local wall-clock times. When clocks go forward (02:00 -> 03:00 in New
York in March) the times between do not exist: such a time is refused, naming the gap
(``GapError``). When clocks go back (02:00 -> 01:00 in November) the times between happen twice:
such a time is resolved to its **first occurrence** (``fold=0``, still on the earlier offset,
daylight time) and shown with its UTC offset (``with_offset``), so nobody has to guess. Every
comparison (windows, blackouts, conflicts, reminders, invites) is made on the UTC instants
(``to_utc``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo


class GapError(ValueError):
    """A wall-clock time that does not exist in its timezone (the clocks skip it)."""


def _offsets(local: datetime, zone: ZoneInfo) -> tuple[timedelta, timedelta]:
    """The UTC offsets ``local`` would have before (fold=0) and after (fold=1) a transition."""
    first = local.replace(tzinfo=zone, fold=0).utcoffset()
    second = local.replace(tzinfo=zone, fold=1).utcoffset()
    zero = timedelta(0)  # a ZoneInfo always answers; this keeps the type checker content
    return first or zero, second or zero


def gap(local: datetime, zone: ZoneInfo) -> tuple[datetime, datetime] | None:
    """The gap ``local`` falls in, as (the wall time clocks leave, the one they jump to)."""
    local = local.replace(tzinfo=None)
    before, after = _offsets(local, zone)
    if after <= before:  # no transition, or a fold (clocks go back)
        return None
    # The transition instant T is in (local - after, local - before]: find it to the second.
    low, high = local - after, local - before
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.replace(tzinfo=UTC).astimezone(zone).utcoffset() == before:
            low = middle
        else:
            high = middle
    moment = high.replace(microsecond=0)
    return moment + before, moment + after


def in_fold(local: datetime, zone: ZoneInfo) -> bool:
    """Whether ``local`` happens twice (clocks go back over it)."""
    before, after = _offsets(local.replace(tzinfo=None), zone)
    return after < before


def gap_message(local: datetime, zone: ZoneInfo) -> str | None:
    """Why ``local`` does not exist, or None when it does.

    For example: 02:30 on 2027-03-14 does not exist in America/New_York: clocks go from 02:00
    to 03:00.
    """
    found = gap(local, zone)
    if found is None:
        return None
    left, jumped = found
    same_day = left.date() == jumped.date() == local.date()
    shape = "%H:%M" if same_day else "%Y-%m-%d %H:%M"
    return (
        f"{local:%H:%M} on {local:%Y-%m-%d} does not exist in {zone.key}: clocks go from "
        f"{left.strftime(shape)} to {jumped.strftime(shape)}"
    )


def to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    """The instant of wall-clock ``local`` in ``zone``; a time in a fold is its first occurrence.

    Raises ``GapError`` for a time that does not exist.
    """
    message = gap_message(local, zone)
    if message is not None:
        raise GapError(message)
    return local.replace(tzinfo=zone, fold=0).astimezone(UTC)


def instant(local: datetime, zone: ZoneInfo, *, end: bool = False) -> datetime:
    """The instant of a stored wall-clock time, which may predate the gap rule.

    A time that exists: ``to_utc``. A time in a gap (only in documents written before it was
    refused) takes the reading that widens its window: a start the earlier instant, an end the
    later one, so a stored window always runs forward and never slips past a blackout.
    """
    local = local.replace(tzinfo=None)
    before, after = _offsets(local, zone)
    fold = 1 if after > before and not end else 0
    return local.replace(tzinfo=zone, fold=fold).astimezone(UTC)


def offset_label(offset: timedelta) -> str:
    """``UTC-04:00`` (a minus sign, never an abbreviation)."""
    total = int(offset.total_seconds()) // 60
    sign = "+" if total >= 0 else "-"
    hours, minutes = divmod(abs(total), 60)
    return f"UTC{sign}{hours:02d}:{minutes:02d}"


def fold_note(local: datetime, zone: ZoneInfo) -> str | None:
    """How a time in a fold was resolved, or None when it happens once.

    For example: 01:30 on 2027-11-07 happens twice in America/New_York: this is the first,
    at UTC-04:00 (the second is at UTC-05:00).
    """
    local = local.replace(tzinfo=None)
    if not in_fold(local, zone):
        return None
    first, second = _offsets(local, zone)
    return (
        f"{local:%H:%M} on {local:%Y-%m-%d} happens twice in {zone.key}: this is the first, "
        f"at {offset_label(first)} (the second is at {offset_label(second)})"
    )


def with_offset(local: datetime, zone: ZoneInfo) -> str:
    """``2027-11-07 01:30 (UTC-04:00)``; a time in a fold also says it is the first of two."""
    local = local.replace(tzinfo=None)
    offset = local.replace(tzinfo=zone, fold=0).utcoffset() or timedelta(0)
    text = f"{local:%Y-%m-%d %H:%M} ({offset_label(offset)}"
    if in_fold(local, zone):
        text += ", the first of the two times this clock reading happens"
    return text + ")"

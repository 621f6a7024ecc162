"""Whether a change's window is already over: said on new, submit and approve."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from changecast.changes.models import Change


def window_over(change: Change, now: datetime) -> str | None:
    """A sentence saying the window has ended (as of ``now``), or None while it has not."""
    schedule = change.change_metadata.schedule
    if schedule is None or schedule.end_utc > now:
        return None
    try:
        local = schedule.end_utc.astimezone(ZoneInfo(schedule.timezone))
        ended = f"{local:%Y-%m-%d %H:%M} {schedule.timezone}"
    except (KeyError, ValueError):
        ended = f"{schedule.end_utc:%Y-%m-%d %H:%M} UTC"
    days = (now - schedule.end_utc).days
    ago = "today" if days < 1 else f"{days} day{'' if days == 1 else 's'} ago"
    return (
        f"the implementation window is already over: it ended {ended} ({ago}); "
        "notices and invites would be for a time that has passed"
    )

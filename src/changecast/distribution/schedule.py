"""Pure scheduling: which reminders, window notices and nudges are due now, as triggers.

| event | to | moment | due while |
|---|---|---|---|
| reminder | each customer | start - ``reminder_hours`` | moment <= now < start |
| window_open | customers with ``window_notices`` | start | start <= now < end |
| window_closed | customers with ``window_notices`` | end | end <= now |
| nudge | creator and last editor (via the first customer) | end + ``nudge_hours`` | now |

Only approved changes are scheduled. A reminder stays due until its window opens; any
other moment older than the catch-up horizon is dropped (after an outage nothing stale goes).
Each due item has one trigger key per (change, version, event, customer), so however many
ticks see it, it is written once (If-None-Match) and the ledger sends each recipient once.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from changecast.changes.models import ChangeStatus
from changecast.customers.models import CustomerMapping
from changecast.distribution.models import DistributionEvent, Trigger
from changecast.ids import ChangeId
from changecast.layout import version_key

E = DistributionEvent
SCHEDULER_ACTOR = "changecast-scheduler"


@dataclass(frozen=True)
class ScheduledChange:
    """What the scheduler needs of one change, as the index holds it."""

    change_id: str
    version: int
    status: ChangeStatus
    customer_codes: tuple[str, ...]
    created_at: datetime
    start_utc: datetime
    end_utc: datetime


@dataclass(frozen=True)
class Leads:
    """One customer's schedule settings (``config.json``), as hours."""

    reminder: timedelta
    window_notices: bool
    nudge: timedelta

    @classmethod
    def of(cls, customer: CustomerMapping, *, reminder_minutes: float | None = None) -> Leads:
        reminder = (
            timedelta(minutes=reminder_minutes)
            if reminder_minutes is not None
            else timedelta(hours=customer.reminder_hours)
        )
        return cls(reminder, customer.window_notices, timedelta(hours=customer.nudge_hours))


@dataclass(frozen=True)
class Window:
    """The index ranges that hold every change that may be due (two range scans)."""

    start_from: datetime
    start_to: datetime
    end_from: datetime
    end_to: datetime


class ScheduleSource(Protocol):
    """The index: approved changes by window, and which scheduled triggers were written."""

    def scheduled(self, window: Window) -> list[ScheduledChange]:
        """Approved changes whose window starts or ends in the ranges, each once."""
        ...

    def written(self, change_ids: Collection[str]) -> set[str]:
        """The trigger keys already written for these changes (a saving, not a guarantee)."""
        ...

    def record(self, triggers: Sequence[Trigger], *, at: datetime) -> None:
        """Remember these triggers as written (and forget those written long ago)."""
        ...


def search_window(now: datetime, leads: Iterable[Leads], horizon: timedelta) -> Window:
    """The ranges of start and end that may hold a due moment for any customer."""
    chosen = list(leads)
    reminder = max((lead.reminder for lead in chosen), default=timedelta(0))
    nudge = max((lead.nudge for lead in chosen), default=timedelta(0))
    return Window(
        start_from=now - horizon,
        start_to=now + reminder,
        end_from=now - horizon - nudge,
        end_to=now,
    )


def _due(moment: datetime, now: datetime, horizon: timedelta) -> bool:
    return moment <= now and now - moment <= horizon


def _customer_events(
    change: ScheduledChange, lead: Leads, now: datetime, horizon: timedelta
) -> list[DistributionEvent]:
    start, end = change.start_utc, change.end_utc
    events = []
    if lead.reminder > timedelta(0) and start - lead.reminder <= now < start:
        events.append(E.REMINDER)
    if lead.window_notices and now < end and _due(start, now, horizon):
        events.append(E.WINDOW_OPEN)
    if lead.window_notices and _due(end, now, horizon):
        events.append(E.WINDOW_CLOSED)
    return events


def due_triggers(
    changes: Iterable[ScheduledChange],
    leads: Mapping[str, Leads],
    *,
    now: datetime,
    horizon: timedelta,
    written: Collection[str] = frozenset(),
) -> list[Trigger]:
    """Every trigger due at ``now`` and not in ``written`` (keys), in a stable order.

    The order is change, customer, event. Customers missing from ``leads`` (no longer in
    config.json) are skipped; a nudge goes through the change's first configured customer,
    by that customer's ``nudge_hours``.
    """
    triggers = []
    for change in sorted(changes, key=lambda c: c.change_id):
        if change.status is not ChangeStatus.APPROVED:
            continue
        codes = [code for code in sorted(change.customer_codes) if code in leads]
        for code in codes:
            for event in _customer_events(change, leads[code], now, horizon):
                triggers.append(_trigger(change, code, event, now))
        if codes:
            nudge = leads[codes[0]].nudge
            if nudge > timedelta(0) and _due(change.end_utc + nudge, now, horizon):
                triggers.append(_trigger(change, codes[0], E.NUDGE, now))
    return [trigger for trigger in triggers if trigger.key not in written]


def _trigger(
    change: ScheduledChange, code: str, event: DistributionEvent, now: datetime
) -> Trigger:
    return Trigger(
        change_id=change.change_id,
        version=change.version,
        event=event,
        customer_code=code,
        archive_key=version_key(ChangeId(change.change_id), change.created_at, change.version),
        was_approved=True,
        invite_sent=True,
        actor=SCHEDULER_ACTOR,
        created_at=now,
    )

"""The pure scheduler: what is due when, for whom, and only once per item."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from changecast.changes.models import ChangeStatus
from changecast.customers.models import AppConfig
from changecast.distribution.models import DistributionEvent as E
from changecast.distribution.schedule import (
    Leads,
    ScheduledChange,
    due_triggers,
    search_window,
)
from changecast.local.demo import demo_config

START = datetime(2030, 3, 1, 15, 0, tzinfo=UTC)
END = START + timedelta(hours=2)
HORIZON = timedelta(hours=6)
CONFIG: AppConfig = demo_config(3, portal_url="http://portal.test")
CID = "0b7c6a2e-4f1d-4a8e-9c3b-2d5e6f7a8b9c"


def change(
    status: ChangeStatus = ChangeStatus.APPROVED, codes: tuple[str, ...] = ("acme", "globex")
) -> ScheduledChange:
    return ScheduledChange(
        change_id=CID,
        version=2,
        status=status,
        customer_codes=codes,
        created_at=datetime(2030, 1, 2, 8, 0, tzinfo=UTC),
        start_utc=START,
        end_utc=END,
    )


def leads(
    reminder: float = 24, notices: bool = False, nudge: float = 4, codes: tuple[str, ...] = ()
) -> dict[str, Leads]:
    chosen = codes or tuple(CONFIG.customer_mappings)
    return {
        code: Leads(timedelta(hours=reminder), notices, timedelta(hours=nudge)) for code in chosen
    }


def due(at: datetime, **kwargs: object) -> list[tuple[str, E]]:
    found = due_triggers([change()], leads(**kwargs), now=at, horizon=HORIZON)  # type: ignore[arg-type]
    return [(t.customer_code, t.event) for t in found]


def test_a_reminder_is_due_from_its_lead_until_the_window_opens() -> None:
    assert due(START - timedelta(hours=24, seconds=1)) == []
    assert due(START - timedelta(hours=24)) == [("acme", E.REMINDER), ("globex", E.REMINDER)]
    assert due(START - timedelta(minutes=1)) == [("acme", E.REMINDER), ("globex", E.REMINDER)]
    assert due(START) == []


def test_each_customer_gets_its_own_reminder_lead() -> None:
    chosen = {
        "acme": Leads(timedelta(hours=24), False, timedelta(0)),
        "globex": Leads(timedelta(hours=1), False, timedelta(0)),
    }
    at = START - timedelta(hours=2)
    found = due_triggers([change()], chosen, now=at, horizon=HORIZON)
    assert [(t.customer_code, t.event) for t in found] == [("acme", E.REMINDER)]


def test_window_notices_go_only_to_customers_that_enabled_them() -> None:
    assert due(START + timedelta(minutes=1), reminder=0) == []
    assert due(START + timedelta(minutes=1), reminder=0, notices=True) == [
        ("acme", E.WINDOW_OPEN),
        ("globex", E.WINDOW_OPEN),
    ]
    assert due(END, reminder=0, notices=True, nudge=0) == [
        ("acme", E.WINDOW_CLOSED),
        ("globex", E.WINDOW_CLOSED),
    ]


def test_a_nudge_goes_once_through_the_first_customer_after_its_lead() -> None:
    assert due(END + timedelta(hours=3, minutes=59)) == []
    assert due(END + timedelta(hours=4)) == [("acme", E.NUDGE)]


@pytest.mark.parametrize(
    "status", [ChangeStatus.CANCELLED, ChangeStatus.REJECTED, ChangeStatus.COMPLETED]
)
def test_nothing_is_due_for_a_change_that_is_not_approved(status: ChangeStatus) -> None:
    everything = leads(notices=True)
    for at in (START - timedelta(hours=1), START, END, END + timedelta(hours=5)):
        assert due_triggers([change(status)], everything, now=at, horizon=HORIZON) == []


def test_after_a_long_outage_stale_moments_are_dropped_but_recent_ones_caught_up() -> None:
    # the scheduler was down from 30 h before the window until 2 h before it: one reminder
    assert due(START - timedelta(hours=2)) == [("acme", E.REMINDER), ("globex", E.REMINDER)]
    # down until 7 h after the window closed: the 4 h nudge is 3 h old, within the horizon
    assert due(END + timedelta(hours=7), notices=True) == [("acme", E.NUDGE)]
    # down until 11 h after: the nudge's moment is 7 h old, beyond the 6 h horizon
    assert due(END + timedelta(hours=11), notices=True) == []


def test_every_tick_that_sees_an_item_names_the_same_trigger_key() -> None:
    ticks = [START - timedelta(hours=h) for h in (23, 12, 1)]
    keys = {
        tuple(t.key for t in due_triggers([change()], leads(), now=at, horizon=HORIZON))
        for at in ticks
    }
    assert keys == {
        (
            f"customers/acme/{CID}-v2-reminder.json",
            f"customers/globex/{CID}-v2-reminder.json",
        )
    }


def test_customers_no_longer_configured_are_skipped() -> None:
    found = due_triggers(
        [change(codes=("acme", "gone"))],
        leads(),
        now=START - timedelta(hours=1),
        horizon=HORIZON,
    )
    assert [t.customer_code for t in found] == ["acme"]


def test_the_search_window_holds_every_due_moment() -> None:
    now = START - timedelta(hours=3)
    window = search_window(now, leads(reminder=24, nudge=4).values(), HORIZON)
    assert window.start_from == now - HORIZON
    assert window.start_to == now + timedelta(hours=24)
    assert window.end_from == now - HORIZON - timedelta(hours=4)
    assert window.end_to == now


def test_a_reminder_in_minutes_overrides_the_hours_of_config_json() -> None:
    acme = CONFIG.customer_mappings["acme"]
    assert Leads.of(acme).reminder == timedelta(hours=24)
    assert Leads.of(acme, reminder_minutes=1).reminder == timedelta(minutes=1)


def test_the_trigger_names_the_archived_version() -> None:
    (trigger, *_) = due_triggers(
        [change()], leads(), now=START - timedelta(hours=1), horizon=HORIZON
    )
    assert trigger.archive_key == f"archive/2030/01/02/{CID}-v2.json"
    assert trigger.was_approved


def test_triggers_already_written_are_not_due_again() -> None:
    at = START - timedelta(hours=1)
    first = due_triggers([change()], leads(), now=at, horizon=HORIZON)
    later = due_triggers([change()], leads(), now=at, horizon=HORIZON, written={first[0].key})
    assert [t.key for t in later] == [t.key for t in first[1:]]

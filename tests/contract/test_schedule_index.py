"""The scheduler's index read, on SQLite and PostgreSQL: approved changes in the ranges only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from changecast.changes.models import ChangeStatus
from changecast.distribution.models import DistributionEvent
from changecast.distribution.schedule import Leads, Window, due_triggers
from changecast.index.schedule import SqlScheduleIndex
from changecast.index.store import SqlChangeIndex
from tests.contract.conftest import make_change

NOW = datetime(2030, 3, 1, 12, 0, tzinfo=UTC)
HORIZON = timedelta(hours=6)
LEADS = {"acme": Leads(timedelta(0), True, timedelta(0))}


def window() -> Window:
    return Window(
        start_from=NOW - timedelta(hours=6),
        start_to=NOW + timedelta(hours=24),
        end_from=NOW - timedelta(hours=10),
        end_to=NOW,
    )


def test_only_approved_changes_starting_or_ending_in_range_are_read(index: SqlChangeIndex) -> None:
    wall = NOW.replace(tzinfo=None)
    cases = {
        "starts soon": (ChangeStatus.APPROVED, wall + timedelta(hours=3)),
        "open now": (ChangeStatus.APPROVED, wall - timedelta(hours=1)),
        "ended 5 h ago": (ChangeStatus.APPROVED, wall - timedelta(hours=7)),
        "starts in 2 days": (ChangeStatus.APPROVED, wall + timedelta(days=2)),
        "ended last week": (ChangeStatus.APPROVED, wall - timedelta(days=7)),
        "cancelled": (ChangeStatus.CANCELLED, wall + timedelta(hours=3)),
        "rejected": (ChangeStatus.REJECTED, wall + timedelta(hours=3)),
        "submitted": (ChangeStatus.SUBMITTED, wall + timedelta(hours=3)),
    }
    ids = {}
    for title, (status, start) in cases.items():
        change = make_change(title, status=status, start=start, customers=("acme", "globex"))
        index.upsert(change, archived=True)
        ids[change.change_id] = title
    index.upsert(make_change("no schedule", status=ChangeStatus.APPROVED), archived=True)

    found = SqlScheduleIndex(index.engine).scheduled(window())

    assert sorted(ids[c.change_id] for c in found) == ["ended 5 h ago", "open now", "starts soon"]
    soon = next(c for c in found if ids[c.change_id] == "starts soon")
    assert soon.customer_codes == ("acme", "globex")
    assert soon.start_utc == NOW + timedelta(hours=3)
    assert soon.end_utc == NOW + timedelta(hours=5)
    assert soon.start_utc.tzinfo is not None


def test_a_change_both_starting_and_ending_in_range_is_read_once(index: SqlChangeIndex) -> None:
    change = make_change(status=ChangeStatus.APPROVED, start=NOW.replace(tzinfo=None))
    index.upsert(change, archived=True)
    wide = Window(NOW - timedelta(days=1), NOW + timedelta(days=1), NOW, NOW + timedelta(days=1))
    assert [c.change_id for c in SqlScheduleIndex(index.engine).scheduled(wide)] == [
        change.change_id
    ]


def test_written_triggers_are_remembered_once_and_forgotten_after_30_days(
    index: SqlChangeIndex,
) -> None:
    change = make_change(
        status=ChangeStatus.APPROVED, start=NOW.replace(tzinfo=None), customers=("acme", "globex")
    )
    index.upsert(change, archived=True)
    source = SqlScheduleIndex(index.engine)
    (found,) = source.scheduled(window())
    triggers = due_triggers([found], LEADS, now=NOW + timedelta(minutes=1), horizon=HORIZON)
    assert {t.event for t in triggers} == {DistributionEvent.WINDOW_OPEN}

    source.record(triggers, at=NOW)
    source.record(triggers, at=NOW)  # a second tick at once: no error, one row each
    assert source.written([change.change_id]) == {t.key for t in triggers}
    assert source.written([]) == set()

    source.record([], at=NOW + timedelta(days=31))  # nothing written: nothing pruned either
    assert source.written([change.change_id]) == {t.key for t in triggers}
    other = due_triggers(
        [found], {"globex": LEADS["acme"]}, now=NOW + timedelta(minutes=1), horizon=HORIZON
    )
    source.record(other, at=NOW + timedelta(days=31))
    assert other and source.written([change.change_id]) == {t.key for t in other}

"""The scheduler on in-process moto: ticks at once write each trigger once; one email each."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from changecast.bootstrap import Runtime
from changecast.changes.archive import ChangeArchive
from changecast.changes.models import Change, ChangeStatus
from changecast.index.schedule import SqlScheduleIndex
from changecast.settings import SchedulerSettings
from changecast.workers import scheduler as scheduler_module
from changecast.workers.scheduler import Scheduler, TickReport
from tests.aws.test_worker_runner import drain, recipients, worker_for
from tests.delivery_support import StepClock, stored_change

CODES = ["acme", "globex"]


def start_of(change: Change) -> datetime:
    schedule = change.change_metadata.schedule
    assert schedule is not None
    return schedule.start_utc


def archived(runtime: Runtime, change: Change) -> Change:
    """Archive the version and index it, as approving it does."""
    ChangeArchive(runtime.store).write_version(change)
    runtime.index.upsert(change, archived=True)
    return change


def scheduler(runtime: Runtime, at: datetime, **settings: object) -> Scheduler:
    return Scheduler(
        source=SqlScheduleIndex(runtime.index.engine),
        store=runtime.store,
        config=runtime.config,
        clock=StepClock(at),
        settings=SchedulerSettings.model_validate(settings),
    )


def tick_at_once(schedulers: list[Scheduler]) -> list[TickReport]:
    barrier = threading.Barrier(len(schedulers))
    reports: list[TickReport] = []
    lock = threading.Lock()

    def run(one: Scheduler) -> None:
        barrier.wait()
        report = one.tick()
        with lock:
            reports.append(report)

    threads = [threading.Thread(target=run, args=(one,)) for one in schedulers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return reports


def trigger_keys(runtime: Runtime) -> list[str]:
    return sorted(runtime.store.list_keys("customers/"))


def test_two_schedulers_ticking_at_once_send_one_reminder_per_recipient(
    moto_runtime: Runtime,
) -> None:
    runtime = moto_runtime
    change = archived(runtime, stored_change(customers=CODES))
    cancelled = archived(
        runtime,
        stored_change(status=ChangeStatus.CANCELLED, approved_before=True, customers=CODES),
    )
    at = start_of(change) - timedelta(seconds=30)  # a 1-minute lead: due since 30 s

    reports = tick_at_once([scheduler(runtime, at, reminder_minutes=1) for _ in range(2)])

    assert sum(r.written for r in reports) == 2  # each trigger written by one of the two
    assert sum(r.already_present for r in reports) == 2
    assert trigger_keys(runtime) == [
        f"customers/{code}/{change.change_id}-v1-reminder.json" for code in CODES
    ]
    assert not any(cancelled.change_id in key for key in trigger_keys(runtime))
    for code in CODES:
        drain(worker_for(runtime, code))
    sent = {code: Counter(recipients(runtime, code)) for code in CODES}
    assert sent["acme"] and set(sent["acme"].values()) == {1}
    assert sent["globex"] == Counter({"ops-lead@globex.example.com": 1})  # restricted

    later = scheduler(runtime, at + timedelta(seconds=20), reminder_minutes=1).tick()
    for code in CODES:
        drain(worker_for(runtime, code))
    assert (later.due, later.written) == (0, 0)  # remembered in the index: not even a PUT
    assert {code: Counter(recipients(runtime, code)) for code in CODES} == sent


def test_a_forgotten_trigger_is_refused_by_s3_and_sends_nothing_again(
    moto_runtime: Runtime,
) -> None:
    runtime = moto_runtime
    change = archived(runtime, stored_change(customers=["acme"]))
    at = start_of(change) - timedelta(hours=2)
    assert scheduler(runtime, at).tick().written == 1
    drain(worker_for(runtime, "acme"))
    first = Counter(recipients(runtime, "acme"))
    with runtime.index.engine.begin() as conn:  # the index is derived: it may be lost
        conn.exec_driver_sql("DELETE FROM scheduled_triggers")

    again = scheduler(runtime, at + timedelta(minutes=1)).tick()

    assert (again.due, again.written, again.already_present) == (1, 0, 1)
    drain(worker_for(runtime, "acme"))
    assert first and Counter(recipients(runtime, "acme")) == first


def test_after_the_window_closes_a_still_approved_change_nudges_its_authors(
    moto_runtime: Runtime,
) -> None:
    runtime = moto_runtime
    change = archived(runtime, stored_change(customers=["initech", "acme"]))
    schedule = change.change_metadata.schedule
    assert schedule is not None
    at = schedule.end_utc + timedelta(hours=4, minutes=1)

    report = scheduler(runtime, at).tick()

    assert report.written == 1
    assert trigger_keys(runtime) == [f"customers/acme/{change.change_id}-v1-nudge.json"]
    drain(worker_for(runtime, "acme"))
    assert recipients(runtime, "acme") == ["author@ccoe.example.com"]


def test_the_lambda_handler_ticks_from_the_environment(
    moto_runtime: Runtime, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    runtime = moto_runtime
    soon = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(hours=2)
    change = stored_change(
        customers=["acme"],
        start=f"{soon:%Y-%m-%dT%H:%M}",
        end=f"{soon + timedelta(hours=1):%Y-%m-%dT%H:%M}",
        timezone="UTC",
    )
    archived(runtime, change)  # within the default 24-hour reminder lead of the real clock
    monkeypatch.setenv("CHANGECAST_MODE", "aws")
    monkeypatch.setenv("CHANGECAST_CONFIG", str(runtime.settings.config_path))
    monkeypatch.setenv("CHANGECAST_DATABASE_URL", runtime.settings.index_url)
    monkeypatch.setenv("CHANGECAST_DATA_DIR", str(tmp_path / "lambda"))
    scheduler_module.current_scheduler.cache_clear()
    try:
        answer = scheduler_module.handler({"source": "aws.scheduler"}, None)
    finally:
        scheduler_module.current_scheduler.cache_clear()
    assert answer == {"due": 1, "written": 1, "alreadyPresent": 0, "failed": 0}
    assert trigger_keys(runtime) == [f"customers/acme/{change.change_id}-v1-reminder.json"]

"""Stale sends: triggers the change has moved past send nothing, whoever queues them.

Real ``changecast worker run`` processes on a moto server; the portal's action pipeline writes
the versions, the latest pointer and the triggers, and the scheduler writes reminders, window
notices and nudges. What a worker finds superseded (``delivery.currency``) is recorded
``superseded`` with what superseded it, sends nothing and is never a failure. ``worker redrive``
moves only the named change's dead letters unless told ``--all``, and its dry run says which
would send and which are superseded.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

import pytest

from changecast.access.models import Actor, Role
from changecast.actions import drafts, pipeline
from changecast.actions.context import ChangeDeps
from changecast.actions.pipeline import ActionRequest
from changecast.bootstrap import Runtime
from changecast.changes.models import Action, Change
from changecast.delivery.models import ExecutionRecord, ExecutionStatus
from changecast.delivery.status import DeliveryState, change_deliveries
from changecast.distribution.models import DistributionEvent
from changecast.ids import ChangeId
from changecast.index.schedule import SqlScheduleIndex
from changecast.settings import SchedulerSettings
from changecast.workers.scheduler import Scheduler
from tests.builders import change_edit, change_input
from tests.delivery_support import StepClock
from tests.faults.support import (
    Workers,
    cli,
    mail_count,
    moto_server,
    provisioned,
    queue_depth,
    record_of,
    wait_for,
)
from tests.faults.test_denied_role import DeniedRoles

E = DistributionEvent
CREATOR = Actor(email="manager@ccoe.example.com", role=Role.CHANGE_MANAGER)
APPROVER = Actor(email="approver@ccoe.example.com", role=Role.CHANGE_MANAGER)
SCHEDULED = (E.REMINDER, E.WINDOW_OPEN, E.WINDOW_CLOSED, E.NUDGE)


@pytest.fixture
def endpoint(aws_env: None) -> Iterator[str]:
    with moto_server() as url:
        yield url


def portal(runtime: Runtime) -> ChangeDeps:
    """The action pipeline's ports on the runtime (its bucket, index, config; no gates)."""
    return ChangeDeps(
        archive=runtime.archive,
        index=runtime.index,
        directory=runtime.directory,
        clock=runtime.clock,
        allow_self_approval=False,
    )


def act(deps: ChangeDeps, change_id: str, action: Action, **request: object) -> Change:
    actor = APPROVER if action is Action.APPROVE else CREATOR
    return pipeline.perform(
        deps=deps,
        actor=actor,
        change_id=ChangeId(change_id),
        request=ActionRequest(action, **request),  # type: ignore[arg-type]
    ).change


def window(change: Change) -> tuple[datetime, datetime]:
    schedule = change.change_metadata.schedule
    assert schedule is not None
    return schedule.start_utc, schedule.end_utc


def tick(runtime: Runtime, at: datetime) -> int:
    """One scheduler tick at ``at`` (a 60-minute reminder lead); the triggers it wrote."""
    scheduler = Scheduler(
        source=SqlScheduleIndex(runtime.index.engine),
        store=runtime.store,
        config=runtime.config,
        clock=StepClock(at),
        settings=SchedulerSettings(reminder_minutes=60),
    )
    return scheduler.tick().written


def queue_every_notice(runtime: Runtime, change: Change) -> None:
    """The scheduler writes the reminder, both window notices and the nudge of ``change``."""
    start, end = window(change)
    moments = [start - timedelta(minutes=30), start + timedelta(minutes=1)]
    moments += [end + timedelta(minutes=1), end + timedelta(hours=4, minutes=1)]
    assert [tick(runtime, at) for at in moments] == [1, 1, 1, 1]


class Records:
    def __init__(self, runtime: Runtime, change_id: str, code: str = "acme") -> None:
        self.runtime, self.change_id, self.code = runtime, change_id, code

    def __call__(self, version: int, event: DistributionEvent) -> ExecutionRecord | None:
        return record_of(self.runtime, self.change_id, version, self.code, event)

    def status(self, version: int, event: DistributionEvent) -> ExecutionStatus | None:
        found = self(version, event)
        return None if found is None else found.status

    def settled(self, *expected: tuple[int, DistributionEvent, ExecutionStatus]) -> bool:
        return all(self.status(v, e) is status for v, e, status in expected)


def approved_change(runtime: Runtime, workers: Workers, deps: ChangeDeps, title: str) -> Change:
    """Submitted and approved, each delivered by a running worker before the next action."""
    draft = drafts.create_draft(
        deps=deps, actor=CREATOR, data=change_input(customers=["acme"], title=title)
    )
    records = Records(runtime, draft.change_id)
    pid = workers.start()
    act(deps, draft.change_id, Action.SUBMIT)
    wait_for(lambda: records.settled((1, E.SUBMITTED, ExecutionStatus.DELIVERED)), workers, pid=pid)
    change = act(deps, draft.change_id, Action.APPROVE)
    wait_for(lambda: records.settled((1, E.APPROVED, ExecutionStatus.DELIVERED)), workers, pid=pid)
    workers.kill(pid, signal.SIGTERM)
    return change


def test_notices_queued_before_a_cancel_send_nothing_after_it(
    endpoint: str, tmp_path: Path
) -> None:
    runtime = provisioned(endpoint, tmp_path, customer_settings={"window_notices": True})
    deps = portal(runtime)
    with Workers(endpoint, tmp_path) as workers:
        change = approved_change(runtime, workers, deps, "Core switch swap")
        records = Records(runtime, change.change_id)
        queue_every_notice(runtime, change)  # queued while no worker runs
        act(deps, change.change_id, Action.CANCEL)
        before = mail_count(runtime, "acme")
        pid = workers.start()
        superseded = [(1, event, ExecutionStatus.SUPERSEDED) for event in SCHEDULED]
        done = (1, E.CANCELLED, ExecutionStatus.DELIVERED)
        wait_for(lambda: records.settled(done, *superseded), workers, pid=pid)
        workers.kill(pid, signal.SIGTERM)
    cancelled = records(1, E.CANCELLED)
    assert cancelled is not None and cancelled.sent > 0
    assert mail_count(runtime, "acme") - before == cancelled.sent  # the cancel alone
    for event in SCHEDULED:
        found = records(1, event)
        assert found is not None and found.sent == 0 and not found.failures
        assert found.superseded_by is not None
        assert found.superseded_by.startswith("cancel of v1 by manager@ccoe.example.com at ")
    status = change_deliveries(
        runtime.archive.get_latest(ChangeId(change.change_id)).change, read_model=runtime.deliveries
    )
    assert status.customers[0].state is DeliveryState.DELIVERED  # superseded is no failure


def test_a_reminder_queued_before_a_reschedule_sends_nothing_and_the_new_one_does(
    endpoint: str, tmp_path: Path
) -> None:
    runtime = provisioned(endpoint, tmp_path)
    deps = portal(runtime)
    with Workers(endpoint, tmp_path) as workers:
        change = approved_change(runtime, workers, deps, "Firewall rules")
        records = Records(runtime, change.change_id)
        start, _ = window(change)
        assert tick(runtime, start - timedelta(minutes=30)) == 1  # v1's reminder, queued
        edit = change_edit(
            1,
            customers=["acme"],
            title="Firewall rules",
            start="2030-03-08T10:00",
            end="2030-03-08T12:00",
        )
        act(deps, change.change_id, Action.EDIT, edit=edit)
        v2 = act(deps, change.change_id, Action.APPROVE)
        before = mail_count(runtime, "acme")
        pid = workers.start()
        expected = (
            (1, E.REMINDER, ExecutionStatus.SUPERSEDED),
            (2, E.UPDATED, ExecutionStatus.DELIVERED),
        )
        wait_for(lambda: records.settled(*expected), workers, pid=pid)
        updated, stale = records(2, E.UPDATED), records(1, E.REMINDER)
        assert updated is not None and stale is not None
        assert mail_count(runtime, "acme") - before == updated.sent + records_sent(
            records, (2, E.SUBMITTED)
        )
        assert stale.superseded_by is not None
        assert stale.superseded_by.startswith("approve of v2 by approver@ccoe.example.com")

        new_start, _ = window(v2)
        assert tick(runtime, new_start - timedelta(minutes=30)) == 1  # v2's own reminder
        current = (2, E.REMINDER, ExecutionStatus.DELIVERED)
        wait_for(lambda: records.settled(current), workers, pid=pid)
        workers.kill(pid, signal.SIGTERM)
    reminder = records(2, E.REMINDER)
    assert reminder is not None and reminder.sent > 0


def records_sent(records: Records, key: tuple[int, DistributionEvent]) -> int:
    """What the record sent; a superseded (or absent) record sent nothing."""
    found = records(*key)
    return 0 if found is None else found.sent


def dlq_of(runtime: Runtime) -> str:
    url: str = runtime.aws.client("sqs").get_queue_url(QueueName="changecast-acme-dlq")["QueueUrl"]
    return url


def test_redrive_moves_only_the_named_change_and_its_superseded_triggers_send_nothing(
    endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = provisioned(endpoint, tmp_path)
    deps = portal(runtime)
    denied = DeniedRoles(monkeypatch)
    denied.arns.add(runtime.directory.get("acme").ses_role_arn)
    dlq = dlq_of(runtime)
    one = drafts.create_draft(
        deps=deps, actor=CREATOR, data=change_input(customers=["acme"], title="Storage move")
    ).change_id
    other = drafts.create_draft(
        deps=deps, actor=CREATOR, data=change_input(customers=["acme"], title="DNS cutover")
    ).change_id
    records = Records(runtime, one)
    edit = change_edit(
        1,
        customers=["acme"],
        title="Storage move",
        start="2030-03-08T10:00",
        end="2030-03-08T12:00",
    )
    with Workers(endpoint, tmp_path) as workers:
        pid = workers.start()
        steps: list[tuple[str, Action, dict[str, object]]] = [
            (one, Action.SUBMIT, {}),
            (one, Action.APPROVE, {}),
            (one, Action.EDIT, {"edit": edit}),
            (one, Action.APPROVE, {}),
            (other, Action.SUBMIT, {}),
        ]
        for count, (change_id, action, request) in enumerate(steps, start=1):
            act(deps, change_id, action, **request)  # each dead-lettered at once: role denied
            wait_for(partial(dead_letters_are, runtime, dlq, count), workers, pid=pid)
        assert mail_count(runtime, "acme") == 0
        denied.arns.clear()  # the role is fixed

        code, out, err = cli(
            tmp_path,
            endpoint,
            *("worker", "redrive", "--customer", "acme", "--change", one, "--dry-run"),
        )
        assert code == 0, err
        lines = {line.split(": ", 1)[0]: line for line in out.splitlines()}
        assert len(lines) == 4 and not any(other in line for line in out.splitlines())
        for version, event in ((1, E.SUBMITTED), (1, E.APPROVED), (2, E.SUBMITTED)):
            assert "superseded by approve of v" in lines[key(one, version, event)]
        assert ": would send" in lines[key(one, 2, E.UPDATED)]
        assert "4 dead-lettered message(s)" in err and "1 other message(s) left" in err
        assert queue_depth(runtime, dlq) == 5

        code, _, err = cli(tmp_path, endpoint, "worker", "redrive", "--customer", "acme")
        assert code == 2 and "--all" in err  # no confirmation: nothing moved
        assert queue_depth(runtime, dlq) == 5

        code, _, err = cli(
            tmp_path, endpoint, *("worker", "redrive", "--customer", "acme", "--change", one)
        )
        assert code == 0, err
        expected = (
            (1, E.SUBMITTED, ExecutionStatus.SUPERSEDED),
            (1, E.APPROVED, ExecutionStatus.SUPERSEDED),
            (2, E.SUBMITTED, ExecutionStatus.SUPERSEDED),
            (2, E.UPDATED, ExecutionStatus.DELIVERED),
        )
        wait_for(lambda: records.settled(*expected), workers, pid=pid)
        assert queue_depth(runtime, dlq) == 1  # the other change's message stays
        updated = records(2, E.UPDATED)
        assert updated is not None and mail_count(runtime, "acme") == updated.sent
        stale = records(1, E.APPROVED)
        assert stale is not None and stale.superseded_by is not None
        assert stale.superseded_by.startswith("approve of v2 by approver@ccoe.example.com")
        assert not stale.dead_lettered and not stale.failures

        code, _, err = cli(
            tmp_path, endpoint, *("worker", "redrive", "--customer", "acme", "--all")
        )
        assert code == 0, err
        others = Records(runtime, other)
        wait_for(
            lambda: others.settled((1, E.SUBMITTED, ExecutionStatus.DELIVERED)), workers, pid=pid
        )
        workers.kill(pid, signal.SIGTERM)
    assert queue_depth(runtime, dlq) == 0
    latest = runtime.archive.get_latest(ChangeId(one)).change
    acme = change_deliveries(latest, read_model=runtime.deliveries).customers[0]
    assert acme.state is DeliveryState.DELIVERED
    states = {(e.version, e.event): e.state for e in acme.current}
    assert states[(1, E.SUBMITTED)] is DeliveryState.SUPERSEDED
    assert states[(2, E.UPDATED)] is DeliveryState.DELIVERED


def dead_letters_are(runtime: Runtime, dlq: str, count: int) -> bool:
    return queue_depth(runtime, dlq) == count


def key(change_id: str, version: int, event: DistributionEvent) -> str:
    return f"customers/acme/{change_id}-v{version}-{event.value}.json"

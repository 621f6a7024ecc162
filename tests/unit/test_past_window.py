"""A window already over: new and submit warn, an approval is refused unless overridden."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from changecast.access.models import Actor, Role
from changecast.actions import drafts, pipeline
from changecast.actions.context import ActionResult, ChangeDeps
from changecast.actions.gates import GateRefusedError
from changecast.actions.pipeline import ActionRequest
from changecast.actions.window_gates import PAST_WINDOW, PastWindowGate
from changecast.audit.service import AuditTrail
from changecast.changes.archive import ChangeArchive
from changecast.changes.models import Action, ChangeStatus
from changecast.changes.past_window import window_over
from changecast.customers.directory import CustomerDirectory
from changecast.ids import ChangeId
from changecast.index.audit_store import SqlAuditIndex
from changecast.index.engine import open_index
from changecast.local.demo import demo_config
from tests.builders import change_input
from tests.fakes.store import MemoryObjectStore

AUTHOR = Actor(email="alice@ccoe.example.com", role=Role.CHANGE_MANAGER)
APPROVER = Actor(email="bob@ccoe.example.com", role=Role.CHANGE_MANAGER)
BEFORE = datetime(2030, 2, 20, 9, 0, tzinfo=UTC)  # the builders' window: 2030-03-01 10-12 NY
AFTER = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)


@dataclass
class MovableClock:
    at: datetime

    def now(self) -> datetime:
        return self.at


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(BEFORE)


@pytest.fixture
def deps(tmp_path: Path, clock: MovableClock) -> Iterator[ChangeDeps]:
    store = MemoryObjectStore()
    index = open_index(f"sqlite:///{tmp_path / 'index.db'}")
    yield ChangeDeps(
        archive=ChangeArchive(store),
        index=index,
        directory=CustomerDirectory(demo_config(3, portal_url="http://portal.test")),
        clock=clock,
        audit=AuditTrail(store=store, index=SqlAuditIndex(index.engine)),
        gates=[PastWindowGate(clock=clock)],
    )
    index.close()


def new_draft(deps: ChangeDeps) -> ChangeId:
    return ChangeId(drafts.create_draft(deps=deps, actor=AUTHOR, data=change_input()).change_id)


def act(deps: ChangeDeps, actor: Actor, cid: ChangeId, request: ActionRequest) -> ActionResult:
    return pipeline.perform(deps=deps, actor=actor, change_id=cid, request=request)


def test_the_sentence_names_when_the_window_ended_in_its_timezone(deps: ChangeDeps) -> None:
    change = drafts.create_draft(deps=deps, actor=AUTHOR, data=change_input())
    assert window_over(change, BEFORE) is None
    said = window_over(change, AFTER)
    assert said is not None
    assert "ended 2030-03-01 12:00 America/New_York (2 days ago)" in said


def test_a_window_still_ahead_gives_no_warning_and_no_finding(deps: ChangeDeps) -> None:
    cid = new_draft(deps)
    submitted = pipeline.perform(
        deps=deps, actor=AUTHOR, change_id=cid, request=ActionRequest(Action.SUBMIT)
    )
    assert submitted.warnings == []
    approved = pipeline.perform(
        deps=deps, actor=APPROVER, change_id=cid, request=ActionRequest(Action.APPROVE)
    )
    assert approved.change.status is ChangeStatus.APPROVED and approved.warnings == []


def test_a_past_window_warns_on_submit_and_refuses_an_approval_without_override(
    deps: ChangeDeps, clock: MovableClock
) -> None:
    cid = new_draft(deps)
    clock.at = AFTER
    submitted = pipeline.perform(
        deps=deps, actor=AUTHOR, change_id=cid, request=ActionRequest(Action.SUBMIT)
    )
    assert submitted.change.status is ChangeStatus.SUBMITTED
    [warning] = submitted.warnings
    assert "already over" in warning
    with pytest.raises(GateRefusedError) as refused:
        pipeline.perform(
            deps=deps, actor=APPROVER, change_id=cid, request=ActionRequest(Action.APPROVE)
        )
    [finding] = refused.value.findings
    assert finding.gate == PAST_WINDOW and finding.blocking
    reason = "recorded after the emergency fix"
    request = ActionRequest(Action.APPROVE, overrides={PAST_WINDOW: reason})
    approved = act(deps, APPROVER, cid, request)
    assert approved.change.status is ChangeStatus.APPROVED
    assert approved.warnings == [warning]
    assert [(o.gate, o.reason) for o in approved.change.overrides] == [(PAST_WINDOW, reason)]

"""Four eyes in the use cases: nobody approves what they created, submitted or edited."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from changecast.access.models import Actor, Role
from changecast.actions import drafts, pipeline, service
from changecast.actions.context import ChangeDeps
from changecast.actions.pipeline import ActionRequest
from changecast.changes.archive import ChangeArchive
from changecast.changes.models import Action
from changecast.customers.directory import CustomerDirectory
from changecast.errors import PermissionDeniedError
from changecast.ids import ChangeId
from changecast.index.engine import open_index
from changecast.local.demo import demo_config
from tests.builders import change_edit, change_input
from tests.fakes.store import MemoryObjectStore

ALICE = Actor(email="alice@ccoe.example.com", role=Role.CHANGE_MANAGER)
BOB = Actor(email="bob@ccoe.example.com", role=Role.CHANGE_MANAGER)
CAROL = Actor(email="carol@ccoe.example.com", role=Role.CHANGE_MANAGER)
DAVE = Actor(email="dave@ccoe.example.com", role=Role.CHANGE_MANAGER)


class StepClock:
    def __init__(self) -> None:
        self.at = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)

    def now(self) -> datetime:
        self.at += timedelta(seconds=1)
        return self.at


@pytest.fixture
def deps(tmp_path: Path) -> Iterator[ChangeDeps]:
    index = open_index(f"sqlite:///{tmp_path / 'changes.db'}")
    yield ChangeDeps(
        archive=ChangeArchive(MemoryObjectStore()),
        index=index,
        directory=CustomerDirectory(demo_config(3, portal_url="http://portal.test")),
        clock=StepClock(),
    )
    index.close()


def submitted(deps: ChangeDeps, author: Actor = ALICE) -> ChangeId:
    draft = drafts.create_draft(deps=deps, actor=author, data=change_input(customers=["acme"]))
    cid = ChangeId(draft.change_id)
    pipeline.perform(deps=deps, actor=author, change_id=cid, request=ActionRequest(Action.SUBMIT))
    return cid


def approve(deps: ChangeDeps, actor: Actor, cid: ChangeId) -> str:
    return pipeline.perform(
        deps=deps, actor=actor, change_id=cid, request=ActionRequest(Action.APPROVE)
    ).change.status.value


def edit(deps: ChangeDeps, actor: Actor, cid: ChangeId, title: str) -> None:
    version = service.get(deps=deps, actor=actor, change_id=cid).version
    data = change_edit(version, customers=["acme"], title=title)
    pipeline.perform(
        deps=deps, actor=actor, change_id=cid, request=ActionRequest(Action.EDIT, edit=data)
    )


def test_the_editor_of_version_2_may_not_approve_it_whatever_the_case_of_the_email(
    deps: ChangeDeps,
) -> None:
    cid = submitted(deps)
    assert approve(deps, BOB, cid) == "approved"
    edit(deps, CAROL, cid, "Carol's version")
    shouting = CAROL.model_copy(update={"email": "Carol@CCOE.example.com"})
    with pytest.raises(PermissionDeniedError, match="you edited version 2") as refused:
        approve(deps, shouting, cid)
    assert "someone else must approve version 2" in refused.value.message
    with pytest.raises(PermissionDeniedError, match="you created this change"):
        approve(deps, ALICE, cid)  # the creator, even after an approval by someone else
    assert approve(deps, BOB, cid) == "approved"  # Bob wrote nothing of version 2


def test_every_unapproved_editor_is_excluded_and_an_approval_resets_that(
    deps: ChangeDeps,
) -> None:
    cid = submitted(deps)
    edit(deps, BOB, cid, "Bob's version")  # version 2, never approved
    edit(deps, CAROL, cid, "Carol's version")  # version 3 builds on Bob's
    with pytest.raises(PermissionDeniedError, match="you edited version 2"):
        approve(deps, BOB, cid)
    with pytest.raises(PermissionDeniedError, match="you edited version 3"):
        approve(deps, CAROL, cid)
    assert approve(deps, DAVE, cid) == "approved"
    edit(deps, DAVE, cid, "Dave's version")  # version 4: Bob's and Carol's edits were reviewed
    assert approve(deps, BOB, cid) == "approved"


def test_a_submitter_who_is_not_the_creator_may_not_approve(deps: ChangeDeps) -> None:
    draft = drafts.create_draft(deps=deps, actor=ALICE, data=change_input(customers=["acme"]))
    cid = ChangeId(draft.change_id)
    pipeline.perform(deps=deps, actor=BOB, change_id=cid, request=ActionRequest(Action.SUBMIT))
    with pytest.raises(PermissionDeniedError, match="you submitted version 1"):
        approve(deps, BOB, cid)
    assert approve(deps, CAROL, cid) == "approved"


def test_rejecting_completing_and_cancelling_are_not_approvals(deps: ChangeDeps) -> None:
    cid = submitted(deps)
    rejected = pipeline.perform(
        deps=deps, actor=ALICE, change_id=cid, request=ActionRequest(Action.REJECT)
    )
    assert rejected.change.status.value == "rejected"
    other = submitted(deps)
    assert approve(deps, BOB, other) == "approved"
    done = pipeline.perform(
        deps=deps, actor=ALICE, change_id=other, request=ActionRequest(Action.COMPLETE)
    )
    assert done.change.status.value == "completed"


def test_the_relaxation_lets_an_author_approve(deps: ChangeDeps) -> None:
    cid = submitted(deps)
    edit(deps, BOB, cid, "Bob's version")
    relaxed = replace(deps, allow_self_approval=True)
    assert approve(relaxed, BOB, cid) == "approved"

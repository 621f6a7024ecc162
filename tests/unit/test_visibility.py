"""The visibility rule of ``access.policy``, and the services that apply it to lists and counts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from changecast.access.models import Actor, Role
from changecast.access.policy import (
    Visibility,
    change_summary,
    may_act,
    require_visible,
    visibility,
)
from changecast.actions import drafts, pipeline, service
from changecast.actions.context import ChangeDeps
from changecast.actions.pipeline import ActionRequest
from changecast.changes.archive import ChangeArchive
from changecast.changes.models import Action, Change, ChangeQuery, ChangeStatus
from changecast.customers.directory import CustomerDirectory
from changecast.errors import PermissionDeniedError
from changecast.ids import ChangeId
from changecast.index.engine import open_index
from changecast.local.demo import demo_config
from tests.builders import change_input
from tests.fakes.store import MemoryObjectStore

MANAGER = Actor(email="manager@ccoe.example.com", role=Role.CHANGE_MANAGER)
ACME = Actor(email="acme.manager@ccoe.example.com", role=Role.CUSTOMER_MANAGER, customers={"acme"})
READER = Actor(email="reader@ccoe.example.com", role=Role.READ_ONLY)
AUDITOR = Actor(email="auditor@ccoe.example.com", role=Role.AUDITOR)
F, S, N = Visibility.FULL, Visibility.SUMMARY, Visibility.NONE


class FixedClock:
    def now(self) -> datetime:
        return datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture
def deps(tmp_path: Path) -> Iterator[ChangeDeps]:
    index = open_index(f"sqlite:///{tmp_path / 'index.db'}")
    yield ChangeDeps(
        archive=ChangeArchive(MemoryObjectStore()),
        index=index,
        directory=CustomerDirectory(demo_config(3, portal_url="http://portal.test")),
        clock=FixedClock(),
    )
    index.close()


def make(deps: ChangeDeps, codes: list[str], *, submit: bool, by: Actor = MANAGER) -> Change:
    draft = drafts.create_draft(deps=deps, actor=by, data=change_input(customers=codes))
    if not submit:
        return draft
    return pipeline.perform(
        deps=deps,
        actor=by,
        change_id=ChangeId(draft.change_id),
        request=ActionRequest(Action.SUBMIT),
    ).change


@pytest.mark.parametrize(
    ("codes", "submitted", "expected"),
    [
        # (manager, acme manager, reader, auditor)
        (["acme"], True, (F, F, F, F)),
        (["globex"], True, (F, N, F, F)),
        (["acme", "globex"], True, (F, S, F, F)),
        (["acme", "globex"], False, (F, S, N, F)),
        (["acme"], False, (F, F, N, F)),
    ],
)
def test_who_sees_how_much(
    deps: ChangeDeps, codes: list[str], submitted: bool, expected: tuple[Visibility, ...]
) -> None:
    change = make(deps, codes, submit=submitted)
    got = tuple(visibility(actor, change) for actor in (MANAGER, ACME, READER, AUDITOR))
    assert got == expected


def test_a_customerless_draft_belongs_to_its_creator_alone(deps: ChangeDeps) -> None:
    draft = make(deps, [], submit=False, by=ACME)
    assert visibility(ACME, draft) is F and may_act(ACME, Action.EDIT, draft)
    assert visibility(AUDITOR, draft) is F and not may_act(AUDITOR, Action.EDIT, draft)
    assert visibility(MANAGER, draft) is N and visibility(READER, draft) is N
    cid = ChangeId(draft.change_id)
    takeover = change_input(customers=["acme"], title="Mine now")
    with pytest.raises(PermissionDeniedError, match="only its creator"):
        drafts.update_draft(deps=deps, actor=MANAGER, change_id=cid, data=takeover)
    with pytest.raises(PermissionDeniedError):
        drafts.delete_draft(deps=deps, actor=MANAGER, change_id=cid)
    drafts.update_draft(deps=deps, actor=ACME, change_id=cid, data=takeover)
    assert service.get(deps=deps, actor=MANAGER, change_id=cid).customer_codes == ["acme"]


def test_a_summary_and_its_refusals_never_name_the_foreign_customer(deps: ChangeDeps) -> None:
    mixed = make(deps, ["acme", "globex"], submit=True)
    summary = change_summary(ACME, mixed)
    assert (summary["customerCodes"], summary["customerNames"]) == (["acme"], ["Acme Corporation"])
    assert "globex" not in str(summary).lower()
    cid = ChangeId(mixed.change_id)
    for attempt in (
        lambda: service.get(deps=deps, actor=ACME, change_id=cid),
        lambda: pipeline.perform(
            deps=deps, actor=ACME, change_id=cid, request=ActionRequest(Action.APPROVE)
        ),
        lambda: require_visible(ACME, mixed),
    ):
        with pytest.raises(PermissionDeniedError) as refused:
            attempt()
        assert "globex" not in refused.value.message.lower()
    change, seen = service.look(deps=deps, actor=ACME, change_id=cid)
    assert seen is S and change.change_id == mixed.change_id


def test_lists_and_counts_hold_only_changes_seen_in_full(deps: ChangeDeps) -> None:
    own = make(deps, ["acme"], submit=True)
    make(deps, ["acme", "globex"], submit=True)
    make(deps, ["globex"], submit=True)
    own_draft = make(deps, ["acme"], submit=False)
    mine_alone = make(deps, [], submit=False, by=ACME)
    managers_own = make(deps, [], submit=False)

    def ids(actor: Actor, **query: object) -> set[str]:
        page = service.find(deps=deps, actor=actor, query=ChangeQuery.model_validate(query))
        return {item.change_id for item in page.items}

    assert ids(ACME) == {own.change_id, own_draft.change_id, mine_alone.change_id}
    assert ids(ACME, customer="globex") == set()  # the filter tells nothing about mixed changes
    assert ids(ACME, text="globex") == set()  # nor does searching a foreign customer's name
    assert len(ids(MANAGER)) == 5 and managers_own.change_id in ids(MANAGER)
    assert mine_alone.change_id not in ids(MANAGER)
    assert len(ids(READER)) == 3 and own_draft.change_id not in ids(READER)
    assert len(ids(AUDITOR)) == 6
    counts = service.statistics(deps=deps, actor=ACME)
    assert (counts.total, counts.by_status[ChangeStatus.DRAFT]) == (3, 2)
    assert service.statistics(deps=deps, actor=READER).by_status[ChangeStatus.DRAFT] == 0
    assert service.statistics(deps=deps, actor=AUDITOR).total == 6

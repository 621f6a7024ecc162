"""The change use cases over the in-memory store and a real SQLite index."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from changecast.access.models import Actor, Role
from changecast.actions import drafts, pipeline, service
from changecast.actions.context import ChangeDeps
from changecast.actions.pipeline import RETRY, ActionRequest
from changecast.changes.archive import ChangeArchive
from changecast.changes.models import Action, ChangeQuery, ChangeStatus
from changecast.customers.directory import CustomerDirectory
from changecast.distribution.models import Trigger, TriggerOutcome
from changecast.errors import ConflictError, InvalidInputError, PermissionDeniedError
from changecast.ids import ChangeId
from changecast.index.engine import open_index
from changecast.layout import latest_key, version_key
from changecast.local.demo import demo_config
from tests.builders import change_edit, change_input
from tests.fakes.store import MemoryObjectStore

MANAGER = Actor(email="manager@ccoe.example.com", role=Role.CHANGE_MANAGER)


class FixedClock:
    def __init__(self) -> None:
        self.at = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at


@pytest.fixture
def store() -> MemoryObjectStore:
    return MemoryObjectStore()


@pytest.fixture
def deps(store: MemoryObjectStore, tmp_path: Path) -> Iterator[ChangeDeps]:
    index = open_index(f"sqlite:///{tmp_path / 'index.db'}")
    yield ChangeDeps(
        archive=ChangeArchive(store),
        index=index,
        directory=CustomerDirectory(demo_config(3, portal_url="http://portal.test")),
        clock=FixedClock(),
        allow_self_approval=True,  # these tests approve their own changes; see test_audit.py
    )
    index.close()


def triggers(store: MemoryObjectStore) -> list[str]:
    return sorted(k for k in store.objects if k.startswith("customers/"))


def submitted(deps: ChangeDeps, **kwargs: object) -> ChangeId:
    draft = drafts.create_draft(deps=deps, actor=MANAGER, data=change_input(**kwargs))
    pipeline.perform(
        deps=deps,
        actor=MANAGER,
        change_id=ChangeId(draft.change_id),
        request=ActionRequest(Action.SUBMIT),
    )
    return ChangeId(draft.change_id)


def test_draft_writes_no_trigger(deps: ChangeDeps, store: MemoryObjectStore) -> None:
    draft = drafts.create_draft(deps=deps, actor=MANAGER, data=change_input())
    assert draft.status is ChangeStatus.DRAFT
    assert triggers(store) == []
    assert list(store.objects) == [f"drafts/{draft.change_id}.json"]


def test_submit_archives_v1_latest_and_one_trigger_per_customer(
    deps: ChangeDeps, store: MemoryObjectStore
) -> None:
    draft = drafts.create_draft(deps=deps, actor=MANAGER, data=change_input())
    cid = ChangeId(draft.change_id)
    result = pipeline.perform(
        deps=deps, actor=MANAGER, change_id=cid, request=ActionRequest(Action.SUBMIT)
    )
    assert result.change.status is ChangeStatus.SUBMITTED
    assert version_key(cid, draft.created_at, 1) in store.objects
    assert latest_key(cid) in store.objects
    assert f"drafts/{cid}.json" not in store.objects
    assert triggers(store) == [
        f"customers/{code}/{cid}-v1-submitted.json" for code in ("acme", "globex", "initech")
    ]
    assert result.distribution is not None
    assert {r.outcome for r in result.distribution.results} == {TriggerOutcome.WRITTEN}
    # the archive is written before any trigger
    assert store.puts.index(version_key(cid, draft.created_at, 1)) < min(
        store.puts.index(k) for k in triggers(store)
    )


def test_edit_makes_v2_and_leaves_v1_byte_for_byte(
    deps: ChangeDeps, store: MemoryObjectStore
) -> None:
    cid = submitted(deps)
    latest = deps.archive.get_latest(cid).change
    v1_key = version_key(cid, latest.created_at, 1)
    v1_bytes = store.objects[v1_key]
    result = pipeline.perform(
        deps=deps,
        actor=MANAGER,
        change_id=cid,
        request=ActionRequest(Action.EDIT, edit=change_edit(1, title="New title")),
    )
    assert result.change.version == 2
    assert result.change.status is ChangeStatus.SUBMITTED
    assert store.objects[v1_key] == v1_bytes
    v1 = service.get_version(deps=deps, actor=MANAGER, change_id=cid, version=1)
    assert v1.title == "Rotate TLS certificates"
    assert [v.version for v in service.versions(deps=deps, actor=MANAGER, change_id=cid)] == [1, 2]


def test_stale_edit_is_a_conflict_and_writes_nothing(
    deps: ChangeDeps, store: MemoryObjectStore
) -> None:
    cid = submitted(deps)
    pipeline.perform(
        deps=deps,
        actor=MANAGER,
        change_id=cid,
        request=ActionRequest(Action.EDIT, edit=change_edit(1, title="Second")),
    )
    before = dict(store.objects)
    with pytest.raises(ConflictError, match="latest version is 2"):
        pipeline.perform(
            deps=deps,
            actor=MANAGER,
            change_id=cid,
            request=ActionRequest(Action.EDIT, edit=change_edit(1, title="Stale")),
        )
    assert store.objects == before


def test_an_edit_of_an_approved_change_asks_approvers_and_its_approval_sends_updated(
    deps: ChangeDeps, store: MemoryObjectStore
) -> None:
    cid = submitted(deps, customers=["acme"])
    pipeline.perform(deps=deps, actor=MANAGER, change_id=cid, request=ActionRequest(Action.APPROVE))
    pipeline.perform(
        deps=deps,
        actor=MANAGER,
        change_id=cid,
        request=ActionRequest(
            Action.EDIT,
            edit=change_edit(
                1, customers=["acme"], start="2030-03-02T10:00", end="2030-03-02T12:00"
            ),
        ),
    )
    assert triggers(store) == [
        f"customers/acme/{cid}-v1-approved.json",
        f"customers/acme/{cid}-v1-submitted.json",
        f"customers/acme/{cid}-v2-submitted.json",
    ]
    asked = Trigger.model_validate_json(store.objects[f"customers/acme/{cid}-v2-submitted.json"])
    assert (asked.replaces_version, asked.was_approved) == (1, True)
    pipeline.perform(deps=deps, actor=MANAGER, change_id=cid, request=ActionRequest(Action.APPROVE))
    assert triggers(store)[-1] == f"customers/acme/{cid}-v2-updated.json"
    assert f"customers/acme/{cid}-v2-approved.json" not in store.objects
    updated = Trigger.model_validate_json(store.objects[f"customers/acme/{cid}-v2-updated.json"])
    assert (updated.replaces_version, updated.invite_sent) == (1, True)


def test_rejecting_a_version_that_replaces_an_approved_one_withdraws_it(
    deps: ChangeDeps, store: MemoryObjectStore
) -> None:
    cid = submitted(deps, customers=["acme"])
    pipeline.perform(deps=deps, actor=MANAGER, change_id=cid, request=ActionRequest(Action.APPROVE))
    pipeline.perform(
        deps=deps,
        actor=MANAGER,
        change_id=cid,
        request=ActionRequest(Action.EDIT, edit=change_edit(1, customers=["acme"])),
    )
    result = pipeline.perform(
        deps=deps, actor=MANAGER, change_id=cid, request=ActionRequest(Action.REJECT)
    )
    assert result.change.status is ChangeStatus.REJECTED
    key = f"customers/acme/{cid}-v2-withdrawn.json"
    assert triggers(store)[-1] == key
    withdrawn = Trigger.model_validate_json(store.objects[key])
    assert (withdrawn.replaces_version, withdrawn.invite_sent) == (1, True)
    del store.objects[key]
    pipeline.perform(deps=deps, actor=MANAGER, change_id=cid, request=ActionRequest(RETRY))
    assert key in store.objects  # a retry writes the latest action's triggers again


def test_retry_writes_only_missing_triggers(deps: ChangeDeps, store: MemoryObjectStore) -> None:
    draft = drafts.create_draft(deps=deps, actor=MANAGER, data=change_input())
    cid = ChangeId(draft.change_id)
    failing = f"customers/globex/{cid}-v1-submitted.json"
    store.fail_keys.add(failing)
    result = pipeline.perform(
        deps=deps, actor=MANAGER, change_id=cid, request=ActionRequest(Action.SUBMIT)
    )
    assert result.distribution is not None
    assert result.distribution.failed_customers == ["globex"]
    store.fail_keys.clear()
    puts_before = len(store.puts)
    report = pipeline.perform(
        deps=deps, actor=MANAGER, change_id=cid, request=ActionRequest(RETRY)
    ).distribution
    assert report is not None
    outcomes = {r.customer_code: r.outcome for r in report.results}
    assert outcomes == {
        "acme": TriggerOutcome.ALREADY_PRESENT,
        "globex": TriggerOutcome.WRITTEN,
        "initech": TriggerOutcome.ALREADY_PRESENT,
    }
    assert store.puts[puts_before:] == [failing]


def test_unknown_customer_writes_nothing(deps: ChangeDeps, store: MemoryObjectStore) -> None:
    with pytest.raises(InvalidInputError, match="unknown customer"):
        drafts.create_draft(deps=deps, actor=MANAGER, data=change_input(customers=["nobody"]))
    assert store.objects == {}


def test_submit_requires_customers(deps: ChangeDeps, store: MemoryObjectStore) -> None:
    draft = drafts.create_draft(deps=deps, actor=MANAGER, data=change_input(customers=[]))
    with pytest.raises(InvalidInputError, match="choose at least one customer"):
        pipeline.perform(
            deps=deps,
            actor=MANAGER,
            change_id=ChangeId(draft.change_id),
            request=ActionRequest(Action.SUBMIT),
        )
    assert triggers(store) == []


def test_customer_manager_acts_only_for_own_customers(deps: ChangeDeps) -> None:
    cm = Actor(
        email="cm@acme.example.com", role=Role.CUSTOMER_MANAGER, customers=frozenset({"acme"})
    )
    with pytest.raises(PermissionDeniedError, match="globex"):
        drafts.create_draft(deps=deps, actor=cm, data=change_input(customers=["acme", "globex"]))
    own = drafts.create_draft(deps=deps, actor=cm, data=change_input(customers=["acme"]))
    pipeline.perform(
        deps=deps, actor=cm, change_id=ChangeId(own.change_id), request=ActionRequest(Action.SUBMIT)
    )
    page = service.find(deps=deps, actor=cm, query=ChangeQuery())
    assert [item.change_id for item in page.items] == [own.change_id]


def test_read_only_user_cannot_approve(deps: ChangeDeps) -> None:
    cid = submitted(deps)
    reader = Actor(email="reader@ccoe.example.com", role=Role.READ_ONLY)
    with pytest.raises(PermissionDeniedError):
        pipeline.perform(
            deps=deps, actor=reader, change_id=cid, request=ActionRequest(Action.APPROVE)
        )


def test_reject_sends_nothing_and_history_records_everything(
    deps: ChangeDeps, store: MemoryObjectStore
) -> None:
    cid = submitted(deps, customers=["acme"])
    result = pipeline.perform(
        deps=deps,
        actor=MANAGER,
        change_id=cid,
        request=ActionRequest(Action.REJECT, comment="not now"),
    )
    assert result.distribution is not None and result.distribution.results == []
    assert triggers(store) == [f"customers/acme/{cid}-v1-submitted.json"]
    history = [(e.action, e.status, e.comment) for e in result.change.history]
    assert history == [
        (Action.CREATE, ChangeStatus.DRAFT, None),
        (Action.SUBMIT, ChangeStatus.SUBMITTED, None),
        (Action.REJECT, ChangeStatus.REJECTED, "not now"),
    ]


def test_search_and_statistics_follow_actions(deps: ChangeDeps) -> None:
    cid = submitted(deps, title="Patch the bastion hosts")
    pipeline.perform(deps=deps, actor=MANAGER, change_id=cid, request=ActionRequest(Action.APPROVE))
    page = service.find(deps=deps, actor=MANAGER, query=ChangeQuery(text="bastion"))
    assert [(i.change_id, i.status) for i in page.items] == [(cid, ChangeStatus.APPROVED)]
    stats = service.statistics(deps=deps, actor=MANAGER)
    assert stats.by_status[ChangeStatus.APPROVED] == 1
    assert stats.total == 1

"""The audit trail: events of every change use case, S3 keys, index, exports, self-approval."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from changecast.access.models import Actor, Role
from changecast.actions import drafts, pipeline
from changecast.actions.context import ChangeDeps
from changecast.actions.pipeline import RETRY, ActionRequest
from changecast.audit import export as audit_export
from changecast.audit import service as audit_service
from changecast.audit.diff import changed_paths
from changecast.audit.models import AuditAction, AuditEvent, AuditQuery
from changecast.audit.service import AuditTrail, audit_key, new_event, rebuild_index
from changecast.changes.archive import ChangeArchive
from changecast.changes.models import Action
from changecast.customers.directory import CustomerDirectory
from changecast.errors import PermissionDeniedError, UpstreamError
from changecast.ids import ChangeId
from changecast.index import audit_store
from changecast.index.audit_store import SqlAuditIndex
from changecast.index.engine import open_index
from changecast.local.demo import demo_config
from tests.builders import change_edit, change_input
from tests.fakes.audit import ListAuditSink
from tests.fakes.store import MemoryObjectStore

AUTHOR = Actor(email="author@ccoe.example.com", role=Role.CHANGE_MANAGER, source_ip="10.0.0.7")
APPROVER = Actor(email="approver@ccoe.example.com", role=Role.CHANGE_MANAGER)
AUDITOR = Actor(email="auditor@ccoe.example.com", role=Role.AUDITOR)


class StepClock:
    """Each reading is one second after the previous one."""

    def __init__(self) -> None:
        self.at = datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)

    def now(self) -> datetime:
        self.at += timedelta(seconds=1)
        return self.at


@pytest.fixture
def store() -> MemoryObjectStore:
    return MemoryObjectStore()


@pytest.fixture
def sink() -> ListAuditSink:
    return ListAuditSink()


@pytest.fixture
def index(tmp_path: Path) -> Iterator[SqlAuditIndex]:
    changes = open_index(f"sqlite:///{tmp_path / 'index.db'}")
    yield SqlAuditIndex(changes.engine)
    changes.close()


@pytest.fixture
def deps(store: MemoryObjectStore, sink: ListAuditSink, tmp_path: Path) -> Iterator[ChangeDeps]:
    change_index = open_index(f"sqlite:///{tmp_path / 'changes.db'}")
    yield ChangeDeps(
        archive=ChangeArchive(store),
        index=change_index,
        directory=CustomerDirectory(demo_config(3, portal_url="http://portal.test")),
        clock=StepClock(),
        audit=sink,
    )
    change_index.close()


def event(action: AuditAction = AuditAction.APPROVE, **fields: object) -> AuditEvent:
    return new_event(actor=AUTHOR, action=action, clock=StepClock(), **fields)


def test_every_change_use_case_records_who_what_which_version_and_what_changed(
    deps: ChangeDeps, sink: ListAuditSink
) -> None:
    draft = drafts.create_draft(deps=deps, actor=AUTHOR, data=change_input(customers=["acme"]))
    cid = ChangeId(draft.change_id)
    drafts.update_draft(
        deps=deps, actor=AUTHOR, change_id=cid, data=change_input(customers=["acme"], title="New")
    )
    pipeline.perform(deps=deps, actor=AUTHOR, change_id=cid, request=ActionRequest(Action.SUBMIT))
    pipeline.perform(
        deps=deps,
        actor=APPROVER,
        change_id=cid,
        request=ActionRequest(Action.APPROVE, comment="fine"),
    )
    edit = change_edit(1, customers=["acme", "globex"], title="New")
    pipeline.perform(
        deps=deps, actor=AUTHOR, change_id=cid, request=ActionRequest(Action.EDIT, edit=edit)
    )
    pipeline.perform(deps=deps, actor=AUTHOR, change_id=cid, request=ActionRequest(RETRY))
    seen = [(e.action, e.actor, e.version, e.status_from, e.status_to) for e in sink.events]
    assert seen == [
        (AuditAction.CREATE, AUTHOR.email, 1, None, "draft"),
        (AuditAction.EDIT, AUTHOR.email, 1, "draft", "draft"),
        (AuditAction.SUBMIT, AUTHOR.email, 1, "draft", "submitted"),
        (AuditAction.APPROVE, APPROVER.email, 1, "submitted", "approved"),
        (AuditAction.EDIT, AUTHOR.email, 2, "approved", "submitted"),
        (AuditAction.RETRY, AUTHOR.email, 2, "submitted", "submitted"),
    ]
    assert {e.change_id for e in sink.events} == {cid}
    assert sink.events[0].source_ip == "10.0.0.7" and sink.events[0].role is Role.CHANGE_MANAGER
    assert "changeMetadata.title" in sink.events[0].changed_fields
    assert sink.events[1].changed_fields == ["changeMetadata.title"]
    assert sink.events[3].comment == "fine" and sink.events[3].changed_fields == []
    assert set(sink.events[4].changed_fields) >= {
        "changeMetadata.customerCodes",
        "changeMetadata.customerNames",
    }
    assert sink.events[4].customers == ["acme", "globex"]


def test_deleting_a_draft_is_recorded_and_a_failed_write_records_nothing(
    deps: ChangeDeps, sink: ListAuditSink, store: MemoryObjectStore
) -> None:
    draft = drafts.create_draft(deps=deps, actor=AUTHOR, data=change_input())
    drafts.delete_draft(deps=deps, actor=AUTHOR, change_id=ChangeId(draft.change_id))
    assert [e.action for e in sink.events] == [AuditAction.CREATE, AuditAction.DELETE_DRAFT]
    other = drafts.create_draft(deps=deps, actor=AUTHOR, data=change_input())
    store.fail_keys.add(f"drafts/{other.change_id}.json")
    with pytest.raises(UpstreamError):
        drafts.update_draft(
            deps=deps, actor=AUTHOR, change_id=ChangeId(other.change_id), data=change_input()
        )
    assert [e.action for e in sink.events][-1] is AuditAction.CREATE


def test_refused_actions_record_nothing(deps: ChangeDeps, sink: ListAuditSink) -> None:
    reader = Actor(email="reader@ccoe.example.com", role=Role.READ_ONLY)
    with pytest.raises(PermissionDeniedError):
        drafts.create_draft(deps=deps, actor=reader, data=change_input())
    assert sink.events == []


def test_the_creator_may_not_approve_their_own_change_unless_allowed(deps: ChangeDeps) -> None:
    draft = drafts.create_draft(deps=deps, actor=AUTHOR, data=change_input())
    cid = ChangeId(draft.change_id)
    pipeline.perform(deps=deps, actor=AUTHOR, change_id=cid, request=ActionRequest(Action.SUBMIT))
    with pytest.raises(PermissionDeniedError, match="someone else must approve"):
        pipeline.perform(
            deps=deps, actor=AUTHOR, change_id=cid, request=ActionRequest(Action.APPROVE)
        )
    relaxed = replace(deps, allow_self_approval=True)
    approved = pipeline.perform(
        deps=relaxed, actor=AUTHOR, change_id=cid, request=ActionRequest(Action.APPROVE)
    )
    assert approved.change.status.value == "approved"


def test_audit_objects_are_append_only_and_ordered_by_time(store: MemoryObjectStore) -> None:
    first, second = event(), event()
    first = first.model_copy(update={"at": datetime(2030, 5, 6, 7, 8, 9, 10, tzinfo=UTC)})
    second = second.model_copy(update={"at": first.at + timedelta(microseconds=1)})
    assert audit_key(first) == f"audit/2030/05/06/20300506T070809.000010Z-{first.event_id}.json"
    assert audit_key(first) < audit_key(second)
    trail = AuditTrail(store=store)
    trail.record(first)
    with capture_logs() as logs:
        trail.record(first)  # the same event again: S3 refuses to overwrite
    assert [e["event"] for e in logs] == ["audit_write_failed"]
    assert store.puts == [audit_key(first)]


def test_a_failed_audit_write_is_logged_with_the_event_not_raised(
    store: MemoryObjectStore, index: SqlAuditIndex
) -> None:
    lost = event()
    store.fail_keys.add(audit_key(lost))
    with capture_logs() as logs:
        AuditTrail(store=store, index=index).record(lost)
    assert (logs[0]["event"], logs[0]["target"]) == ("audit_write_failed", "s3")
    assert logs[0]["audit_event"]["event_id"] == lost.event_id
    assert index.find(AuditQuery()).total == 1


def test_index_filters_pages_and_rebuilds_from_s3(
    store: MemoryObjectStore, index: SqlAuditIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trail = AuditTrail(store=store, index=index)
    events = [event(change_id=f"00000000-0000-4000-8000-00000000000{n}") for n in range(5)]
    events.append(new_event(actor=AUDITOR, action=AuditAction.AUDIT_EXPORT, clock=StepClock()))
    for item in events:
        trail.record(item)
    page = index.find(AuditQuery(actor=AUTHOR.email, page_size=2, page=2))
    assert page.total == 5 and len(page.items) == 2
    only = index.find(AuditQuery(change_id=events[3].change_id))
    assert [e.event_id for e in only.items] == [events[3].event_id]
    assert index.find(AuditQuery(action=AuditAction.AUDIT_EXPORT)).total == 1
    monkeypatch.setattr(audit_store, "EXPORT_BATCH", 2)
    assert len(list(index.iterate(AuditQuery()))) == 6
    fresh = SqlAuditIndex(open_index(f"sqlite:///{tmp_path / 'fresh.db'}").engine)
    assert rebuild_index(store=store, index=fresh) == 6
    assert fresh.find(AuditQuery()).total == 6


def test_only_auditors_browse_and_export_and_exports_are_recorded(index: SqlAuditIndex) -> None:
    sink = ListAuditSink()
    for role in (Role.CHANGE_MANAGER, Role.CUSTOMER_MANAGER, Role.READ_ONLY):
        someone = Actor(email="x@ccoe.example.com", role=role)
        with pytest.raises(PermissionDeniedError):
            audit_service.browse(index=index, actor=someone, query=AuditQuery())
        with pytest.raises(PermissionDeniedError):
            audit_service.export(
                index=index,
                sink=sink,
                clock=StepClock(),
                actor=someone,
                query=AuditQuery(),
                fmt="csv",
            )
    assert sink.events == []
    audit_service.export(
        index=index, sink=sink, clock=StepClock(), actor=AUDITOR, query=AuditQuery(), fmt="json"
    )
    assert [(e.action, e.detail["format"]) for e in sink.events] == [
        (AuditAction.AUDIT_EXPORT, "json")
    ]


def test_csv_export_neutralises_formulas_and_json_export_is_an_array() -> None:
    evil = event(comment='=HYPERLINK("http://evil")', customers=["acme", "globex"])
    rows = list(csv.DictReader(io.StringIO("".join(audit_export.csv_chunks([evil])))))
    assert rows[0]["comment"].startswith("'=")
    assert rows[0]["customers"] == "acme;globex"
    parsed = json.loads("".join(audit_export.json_chunks([evil, event()])))
    assert [item["eventId"] for item in parsed] == [evil.event_id, parsed[1]["eventId"]]
    assert json.loads("".join(audit_export.json_chunks([]))) == []


@pytest.mark.parametrize(
    ("before", "after", "paths"),
    [
        (None, {"a": {"b": 1, "c": None}, "version": 1}, ["a.b"]),
        ({"a": {"b": 1}}, {"a": {"b": 2}}, ["a.b"]),
        ({"a": [1, 2]}, {"a": [2, 1]}, ["a"]),
        ({"history": [1], "status": "x"}, {"history": [1, 2], "status": "y"}, []),
        ({"a": {"b": 1}}, {}, ["a.b"]),
    ],
)
def test_changed_paths(
    before: dict[str, object] | None, after: dict[str, object], paths: list[str]
) -> None:
    assert changed_paths(before, after) == paths

"""S3 first, then triggers, audit and index: index failures never fail an action, retries finish.

The index is a ``FlakyIndex`` in front of a real SQLite index; the store a ``MemoryObjectStore``
that can crash after N writes (``StoreCrash`` stands for the process dying at that point).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
import structlog

from changecast.access.models import Actor, Role
from changecast.actions import drafts, pipeline
from changecast.actions.context import ChangeDeps
from changecast.actions.pipeline import ActionRequest
from changecast.actions.rebuild import rebuild_index
from changecast.audit.models import AuditAction, AuditEvent, AuditQuery
from changecast.audit.service import AuditTrail
from changecast.changes.archive import ChangeArchive
from changecast.changes.models import Action, ChangeStatus
from changecast.customers.directory import CustomerDirectory
from changecast.distribution.models import TriggerOutcome
from changecast.errors import ConflictError
from changecast.ids import ChangeId
from changecast.index.audit_store import SqlAuditIndex
from changecast.index.engine import open_index
from changecast.index.store import SqlChangeIndex
from changecast.layout import draft_key, latest_key, version_key
from changecast.local.demo import demo_config
from changecast.metrics import names
from tests.builders import change_edit, change_input
from tests.fakes.index import FlakyIndex
from tests.fakes.metrics import MemoryMetrics
from tests.fakes.store import MemoryObjectStore, StoreCrash

AUTHOR = Actor(email="author@ccoe.example.com", role=Role.CHANGE_MANAGER)
APPROVER = Actor(email="approver@ccoe.example.com", role=Role.CHANGE_MANAGER)
CODES = ("acme", "globex", "initech")


class FixedClock:
    def now(self) -> datetime:
        return datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture
def store() -> MemoryObjectStore:
    return MemoryObjectStore()


@pytest.fixture
def sql(tmp_path: Path) -> Iterator[SqlChangeIndex]:
    index = open_index(f"sqlite:///{tmp_path / 'index.db'}")
    yield index
    index.close()


@pytest.fixture
def index(sql: SqlChangeIndex) -> FlakyIndex:
    return FlakyIndex(sql)


@pytest.fixture
def metrics() -> MemoryMetrics:
    return MemoryMetrics()


@pytest.fixture
def deps(
    store: MemoryObjectStore, index: FlakyIndex, sql: SqlChangeIndex, metrics: MemoryMetrics
) -> ChangeDeps:
    return ChangeDeps(
        archive=ChangeArchive(store),
        index=index,
        directory=CustomerDirectory(demo_config(3, portal_url="http://portal.test")),
        clock=FixedClock(),
        audit=AuditTrail(store=store, index=SqlAuditIndex(sql.engine)),
        metrics=metrics,
        allow_self_approval=True,
    )


def trigger_keys(store: MemoryObjectStore) -> list[str]:
    return sorted(k for k in store.objects if k.startswith("customers/"))


def trigger_puts(store: MemoryObjectStore) -> list[str]:
    return sorted(k for k in store.puts if k.startswith("customers/"))


def new_draft(deps: ChangeDeps) -> ChangeId:
    return ChangeId(drafts.create_draft(deps=deps, actor=AUTHOR, data=change_input()).change_id)


def audit_actions(sql: SqlChangeIndex, cid: ChangeId) -> list[AuditAction]:
    page = SqlAuditIndex(sql.engine).find(AuditQuery(change_id=cid, page_size=100))
    return sorted(e.action for e in page.items)


def test_index_failure_during_submit_is_logged_counted_and_the_submit_succeeds(
    deps: ChangeDeps,
    store: MemoryObjectStore,
    index: FlakyIndex,
    sql: SqlChangeIndex,
    metrics: MemoryMetrics,
) -> None:
    cid = new_draft(deps)
    index.down = True
    with structlog.testing.capture_logs() as logs:
        result = pipeline.perform(
            deps=deps, actor=AUTHOR, change_id=cid, request=ActionRequest(Action.SUBMIT)
        )
    assert result.change.status is ChangeStatus.SUBMITTED
    assert result.distribution is not None and result.distribution.complete
    assert trigger_keys(store) == [f"customers/{c}/{cid}-v1-submitted.json" for c in CODES]
    assert latest_key(cid) in store.objects
    assert draft_key(cid) not in store.objects
    failed = [e for e in logs if e["event"] == "index_write_failed"]
    assert len(failed) == 1
    assert failed[0]["change_id"] == cid and failed[0]["action"] == "submit"
    assert failed[0]["error"] == "IndexDown"  # the type only: driver messages may hold secrets
    assert len(index.failed_writes) == 2  # tried once more before giving up
    metrics.flush()
    assert metrics.total(names.INDEX_WRITE_FAILED, action="submit") == 1
    assert deps.index_repairs.pending() == [cid]
    summary = sql.summary(cid)
    assert summary is not None and summary.status is ChangeStatus.DRAFT  # the index lags

    index.down = False
    report = rebuild_index(
        archive=deps.archive, store=store, index=sql, audit_index=SqlAuditIndex(sql.engine)
    )
    assert report.errors == []
    repaired = sql.summary(cid)
    assert repaired is not None and repaired.status is ChangeStatus.SUBMITTED
    assert [v.version for v in sql.versions(cid)] == [1]
    assert audit_actions(sql, cid) == [AuditAction.CREATE, AuditAction.SUBMIT]


def test_the_next_successful_index_write_repairs_a_queued_change(
    deps: ChangeDeps, index: FlakyIndex, sql: SqlChangeIndex
) -> None:
    cid = new_draft(deps)
    index.down = True
    pipeline.perform(deps=deps, actor=AUTHOR, change_id=cid, request=ActionRequest(Action.SUBMIT))
    pipeline.perform(
        deps=deps, actor=APPROVER, change_id=cid, request=ActionRequest(Action.APPROVE)
    )
    index.down = False
    other = new_draft(deps)  # any later action whose index write works
    assert deps.index_repairs.pending() == []
    summary = sql.summary(cid)
    assert summary is not None and summary.status is ChangeStatus.APPROVED
    assert sql.summary(other) is not None


def test_rebuild_reloads_the_audit_index_from_s3(
    deps: ChangeDeps, store: MemoryObjectStore, sql: SqlChangeIndex, tmp_path: Path
) -> None:
    cid = new_draft(deps)
    pipeline.perform(deps=deps, actor=AUTHOR, change_id=cid, request=ActionRequest(Action.SUBMIT))
    fresh = open_index(f"sqlite:///{tmp_path / 'fresh.db'}")
    try:
        report = rebuild_index(
            archive=deps.archive, store=store, index=fresh, audit_index=SqlAuditIndex(fresh.engine)
        )
        assert report.audit_events == 2
        assert audit_actions(fresh, cid) == [AuditAction.CREATE, AuditAction.SUBMIT]
        again = rebuild_index(
            archive=deps.archive, store=store, index=fresh, audit_index=SqlAuditIndex(fresh.engine)
        )
        assert again.audit_events == 2
        assert audit_actions(fresh, cid) == [AuditAction.CREATE, AuditAction.SUBMIT]
    finally:
        fresh.close()


@pytest.mark.parametrize(
    ("writes", "where"),
    [(1, "after version 1, before latest"), (3, "after latest and one trigger")],
)
def test_a_submit_that_crashed_is_completed_by_submitting_again(
    deps: ChangeDeps, store: MemoryObjectStore, sql: SqlChangeIndex, writes: int, where: str
) -> None:
    cid = new_draft(deps)
    store.crash_after(writes)
    with pytest.raises(StoreCrash):
        pipeline.perform(
            deps=deps, actor=AUTHOR, change_id=cid, request=ActionRequest(Action.SUBMIT)
        )
    assert draft_key(cid) in store.objects, where
    store.recover()
    result = pipeline.perform(
        deps=deps, actor=AUTHOR, change_id=cid, request=ActionRequest(Action.SUBMIT)
    )
    assert result.change.status is ChangeStatus.SUBMITTED
    assert result.distribution is not None and result.distribution.complete
    expected = [f"customers/{c}/{cid}-v1-submitted.json" for c in CODES]
    assert trigger_keys(store) == expected
    assert trigger_puts(store) == expected  # each trigger written exactly once
    assert store.puts.count(version_key(cid, result.change.created_at, 1)) == 1
    assert draft_key(cid) not in store.objects
    summary = sql.summary(cid)
    assert summary is not None and summary.status is ChangeStatus.SUBMITTED
    assert audit_actions(sql, cid) == [AuditAction.CREATE, AuditAction.SUBMIT]
    with pytest.raises(Exception, match="not a draft"):  # done now: a third submit is refused
        pipeline.perform(
            deps=deps, actor=AUTHOR, change_id=cid, request=ActionRequest(Action.SUBMIT)
        )


def test_a_resubmit_after_the_change_moved_on_is_refused_and_drops_the_stale_draft(
    deps: ChangeDeps, store: MemoryObjectStore
) -> None:
    cid = new_draft(deps)
    draft_body = store.objects[draft_key(cid)]
    pipeline.perform(deps=deps, actor=AUTHOR, change_id=cid, request=ActionRequest(Action.SUBMIT))
    pipeline.perform(
        deps=deps, actor=APPROVER, change_id=cid, request=ActionRequest(Action.APPROVE)
    )
    store.objects[draft_key(cid)] = draft_body  # as if the draft delete had been lost
    with pytest.raises(ConflictError, match="already submitted and is now approved"):
        pipeline.perform(
            deps=deps, actor=AUTHOR, change_id=cid, request=ActionRequest(Action.SUBMIT)
        )
    assert draft_key(cid) not in store.objects


def test_an_approve_that_crashed_after_latest_is_completed_by_approving_again(
    deps: ChangeDeps, store: MemoryObjectStore, sql: SqlChangeIndex
) -> None:
    cid = new_draft(deps)
    pipeline.perform(deps=deps, actor=AUTHOR, change_id=cid, request=ActionRequest(Action.SUBMIT))
    store.crash_after(1)  # latest moves to approved, then the process dies
    with pytest.raises(StoreCrash):
        pipeline.perform(
            deps=deps,
            actor=APPROVER,
            change_id=cid,
            request=ActionRequest(Action.APPROVE, comment="go"),
        )
    store.recover()
    assert deps.archive.get_latest(cid).change.status is ChangeStatus.APPROVED
    assert not any(k.endswith("-approved.json") for k in trigger_keys(store))

    result = pipeline.perform(
        deps=deps,
        actor=APPROVER,
        change_id=cid,
        request=ActionRequest(Action.APPROVE, comment="go"),
    )
    assert result.change.status is ChangeStatus.APPROVED
    assert len(result.change.history) == 3  # completed, not approved a second time
    assert result.distribution is not None
    assert {r.outcome for r in result.distribution.results} == {TriggerOutcome.WRITTEN}
    approved = [f"customers/{c}/{cid}-v1-approved.json" for c in CODES]
    assert [k for k in trigger_keys(store) if k.endswith("-approved.json")] == approved
    summary = sql.summary(cid)
    assert summary is not None and summary.status is ChangeStatus.APPROVED
    assert audit_actions(sql, cid).count(AuditAction.APPROVE) == 1

    again = pipeline.perform(
        deps=deps, actor=APPROVER, change_id=cid, request=ActionRequest(Action.APPROVE)
    )
    assert again.distribution is not None
    assert {r.outcome for r in again.distribution.results} == {TriggerOutcome.ALREADY_PRESENT}
    assert [k for k in trigger_puts(store) if k.endswith("-approved.json")] == approved
    assert audit_actions(sql, cid).count(AuditAction.APPROVE) == 1  # same event id


def test_someone_else_repeating_an_action_is_told_how_to_retry_the_mail(
    deps: ChangeDeps,
) -> None:
    cid = new_draft(deps)
    pipeline.perform(deps=deps, actor=AUTHOR, change_id=cid, request=ActionRequest(Action.SUBMIT))
    pipeline.perform(
        deps=deps, actor=APPROVER, change_id=cid, request=ActionRequest(Action.APPROVE)
    )
    third = Actor(email="third@ccoe.example.com", role=Role.CHANGE_MANAGER)
    with pytest.raises(ConflictError, match=r"already did approve .*changecast change retry"):
        pipeline.perform(
            deps=deps, actor=third, change_id=cid, request=ActionRequest(Action.APPROVE)
        )


def test_an_index_failure_during_approve_is_not_a_failure(
    deps: ChangeDeps, store: MemoryObjectStore, index: FlakyIndex
) -> None:
    cid = new_draft(deps)
    pipeline.perform(deps=deps, actor=AUTHOR, change_id=cid, request=ActionRequest(Action.SUBMIT))
    index.fail_next = 2
    result = pipeline.perform(
        deps=deps, actor=APPROVER, change_id=cid, request=ActionRequest(Action.APPROVE)
    )
    assert result.change.status is ChangeStatus.APPROVED
    assert len([k for k in trigger_keys(store) if k.endswith("-approved.json")]) == 3
    assert deps.index_repairs.pending() == [cid]


def test_an_edit_that_crashed_after_its_version_is_completed_by_the_same_edit(
    deps: ChangeDeps, store: MemoryObjectStore, sql: SqlChangeIndex
) -> None:
    cid = new_draft(deps)
    pipeline.perform(deps=deps, actor=AUTHOR, change_id=cid, request=ActionRequest(Action.SUBMIT))
    store.crash_after(1)  # version 2 is archived, latest is still version 1
    with pytest.raises(StoreCrash):
        pipeline.perform(
            deps=deps,
            actor=AUTHOR,
            change_id=cid,
            request=ActionRequest(Action.EDIT, edit=change_edit(1, title="T2")),
        )
    store.recover()
    with pytest.raises(ConflictError, match="repeat that same edit"):
        pipeline.perform(
            deps=deps,
            actor=AUTHOR,
            change_id=cid,
            request=ActionRequest(Action.EDIT, edit=change_edit(1, title="Other")),
        )
    result = pipeline.perform(
        deps=deps,
        actor=AUTHOR,
        change_id=cid,
        request=ActionRequest(Action.EDIT, edit=change_edit(1, title="T2")),
    )
    assert result.change.version == 2
    assert deps.archive.get_latest(cid).change.version == 2
    assert f"customers/acme/{cid}-v2-submitted.json" in trigger_keys(store)
    assert [v.version for v in sql.versions(cid)] == [1, 2]


def test_an_edit_that_crashed_after_latest_is_completed_by_the_same_edit(
    deps: ChangeDeps, store: MemoryObjectStore
) -> None:
    cid = new_draft(deps)
    pipeline.perform(deps=deps, actor=AUTHOR, change_id=cid, request=ActionRequest(Action.SUBMIT))
    store.crash_after(2)  # version 2 and latest written, no trigger
    with pytest.raises(StoreCrash):
        pipeline.perform(
            deps=deps,
            actor=AUTHOR,
            change_id=cid,
            request=ActionRequest(Action.EDIT, edit=change_edit(1, title="T2")),
        )
    store.recover()
    assert not any("-v2-" in k for k in trigger_keys(store))
    result = pipeline.perform(
        deps=deps,
        actor=AUTHOR,
        change_id=cid,
        request=ActionRequest(Action.EDIT, edit=change_edit(1, title="T2")),
    )
    assert result.change.version == 2
    assert [f"customers/{c}/{cid}-v2-submitted.json" for c in CODES] == [
        k for k in trigger_keys(store) if "-v2-" in k
    ]
    with pytest.raises(ConflictError, match="latest version is 2"):
        pipeline.perform(
            deps=deps,
            actor=AUTHOR,
            change_id=cid,
            request=ActionRequest(Action.EDIT, edit=change_edit(1, title="T3")),
        )


def test_the_index_rebuild_command_repairs_what_a_failed_index_write_missed(
    aws_env: None, tmp_path: Path
) -> None:
    """``changecast index rebuild`` on S3 (moto) loads the change and its audit events."""
    from moto import mock_aws

    from changecast.aws.s3 import S3ObjectStore
    from tests.cli.ses_harness import make_world

    with mock_aws():
        world = make_world(tmp_path / "cfg", codes=CODES)
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="changecast-test")
        s3 = S3ObjectStore(client, "changecast-test")
        sql = open_index(f"sqlite:///{world.root / 'index.db'}")
        try:
            deps = ChangeDeps(
                archive=ChangeArchive(s3),
                index=FlakyIndex(sql),
                directory=CustomerDirectory(demo_config(3, portal_url="http://portal.test")),
                clock=FixedClock(),
                audit=AuditTrail(store=s3),  # the audit index is not written at all
            )
            cid = new_draft(deps)
            flaky = deps.index
            assert isinstance(flaky, FlakyIndex)
            flaky.down = True
            assert pipeline.perform(
                deps=deps, actor=AUTHOR, change_id=cid, request=ActionRequest(Action.SUBMIT)
            ).change.status is (ChangeStatus.SUBMITTED)
            before = sql.summary(cid)
            assert before is not None and before.status is ChangeStatus.DRAFT

            outcome = world.invoke("index", "rebuild", "--output", "json")
            assert outcome.code == 0, outcome.exception
            report = outcome.json()
            assert (report["changes"], report["auditEvents"]) == (1, 2)
            after = sql.summary(cid)
            assert after is not None and after.status is ChangeStatus.SUBMITTED
            assert audit_actions(sql, cid) == [AuditAction.CREATE, AuditAction.SUBMIT]
        finally:
            sql.close()
            structlog.reset_defaults()  # the CLI pointed structlog at CliRunner's closed stdout


class DownAuditSink:
    """An AuditSink whose every record fails, as an unreachable audit store would."""

    def __init__(self) -> None:
        self.attempts = 0

    def record(self, event: AuditEvent) -> None:
        self.attempts += 1
        raise OSError("audit store unreachable")


def test_a_failing_audit_sink_is_logged_and_never_fails_the_action(
    deps: ChangeDeps, store: MemoryObjectStore, sql: SqlChangeIndex
) -> None:
    sink = DownAuditSink()
    down = dataclasses.replace(deps, audit=sink)
    cid = ChangeId(drafts.create_draft(deps=down, actor=AUTHOR, data=change_input()).change_id)
    with structlog.testing.capture_logs() as logs:
        result = pipeline.perform(
            deps=down, actor=AUTHOR, change_id=cid, request=ActionRequest(Action.SUBMIT)
        )
    assert result.change.status is ChangeStatus.SUBMITTED
    assert len(trigger_keys(store)) == 3
    summary = sql.summary(cid)
    assert summary is not None and summary.status is ChangeStatus.SUBMITTED  # index after audit
    assert sink.attempts == 2
    assert [e["action"] for e in logs if e["event"] == "audit_write_failed"] == ["submit"]

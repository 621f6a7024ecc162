"""Rebuilding the index from the object store gives what the incremental writes gave."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from changecast.actions.rebuild import RebuildReport, rebuild_index
from changecast.changes.archive import ChangeArchive
from changecast.changes.models import Change, ChangeQuery, ChangeStatus
from changecast.delivery.models import ExecutionDocument, ExecutionRecord, ExecutionStatus
from changecast.distribution.models import DistributionEvent
from changecast.errors import UpstreamError
from changecast.ids import ChangeId
from changecast.index.deliveries import SqlDeliveryReadModel
from changecast.index.store import SqlChangeIndex
from changecast.layout import execution_key, version_key
from tests.contract.conftest import EPOCH, make_change, sqlite_index
from tests.fakes.store import MemoryObjectStore

S = ChangeStatus
QUERIES = [
    ChangeQuery(page_size=200),
    ChangeQuery(text="database", page_size=200),
    ChangeQuery(status=S.APPROVED),
    ChangeQuery(status=S.DRAFT),
    ChangeQuery(customer="beta"),
    ChangeQuery(visible_customers=frozenset({"acme"}), page=2, page_size=2),
]


class Portal:
    """Writes to the archive and the index the way the change service does."""

    def __init__(self, store: MemoryObjectStore, index: SqlChangeIndex) -> None:
        self.store, self.archive, self.index = store, ChangeArchive(store), index
        self.deliveries = SqlDeliveryReadModel(index.engine)
        self.clock = EPOCH

    def tick(self, change: Change, **update: object) -> Change:
        self.clock += timedelta(minutes=1)
        return change.model_copy(update={"modified_at": self.clock, **update})

    def save_draft(self, change: Change) -> Change:
        change = self.tick(change, status=S.DRAFT)
        cid = ChangeId(change.change_id)
        etag = self.archive.get_draft(cid).etag if self.store.exists(f"drafts/{cid}.json") else None
        self.archive.put_draft(change, etag=etag)
        self.index.upsert(change, archived=False)
        return change

    def archive_version(self, change: Change, status: S, *, version: int | None = None) -> Change:
        change = self.tick(change, status=status, version=version or change.version)
        cid = ChangeId(change.change_id)
        exists = self.store.exists(f"archive/latest/{cid}.json")
        etag = self.archive.get_latest(cid).etag if exists else None
        if not exists or version:
            self.archive.write_version(change)
        self.archive.put_latest(change, etag=etag)
        self.archive.delete_draft(cid)
        self.index.upsert(change, archived=True)
        return change

    def move(self, change: Change, status: S) -> Change:
        return self.archive_version(change, status)

    def deliver(self, change: Change, customer: str, *events: DistributionEvent) -> None:
        records = {
            event: ExecutionRecord(
                change_id=change.change_id,
                version=change.version,
                customer_code=customer,
                event=event,
                status=ExecutionStatus.DELIVERED,
                recipients=2,
                sent=2,
                started_at=self.clock,
                finished_at=self.clock,
            )
            for event in events
        }
        document = ExecutionDocument(
            change_id=change.change_id,
            version=change.version,
            customer_code=customer,
            events=records,
        )
        key = execution_key(change.change_id, change.version, customer)
        self.store.put(key, document.model_dump_json(by_alias=True).encode())
        for record in records.values():
            self.deliveries.record_execution(record)


@pytest.fixture
def store() -> MemoryObjectStore:
    return MemoryObjectStore()


@pytest.fixture
def live(tmp_path: Path) -> Iterator[SqlChangeIndex]:
    (tmp_path / "live").mkdir()
    index = sqlite_index(tmp_path / "live")
    yield index
    index.close()


@pytest.fixture
def rebuilt(tmp_path: Path) -> Iterator[SqlChangeIndex]:
    (tmp_path / "rebuilt").mkdir()
    index = sqlite_index(tmp_path / "rebuilt")
    yield index
    index.close()


def rebuild(store: MemoryObjectStore, rebuilt: SqlChangeIndex) -> RebuildReport:
    """``index rebuild``: the change index and the delivery read model, from the store."""
    return rebuild_index(
        archive=ChangeArchive(store),
        store=store,
        index=rebuilt,
        read_model=SqlDeliveryReadModel(rebuilt.engine),
    )


def history(portal: Portal) -> list[Change]:
    """A small life: drafts, submissions, approvals, an edit, a completion and deliveries."""
    a = portal.save_draft(make_change("Database upgrade", customers=("acme", "beta")))
    a = portal.save_draft(a.model_copy(update={"created_by": "alice@example.com"}))
    a = portal.archive_version(a, S.SUBMITTED)
    portal.deliver(a, "acme", DistributionEvent.SUBMITTED)
    a = portal.move(a, S.APPROVED)
    portal.deliver(a, "acme", DistributionEvent.SUBMITTED, DistributionEvent.APPROVED)
    a = portal.archive_version(a, S.SUBMITTED, version=2)
    a = portal.move(a, S.APPROVED)
    b = portal.archive_version(
        make_change("Network database failover", customers=("beta",)), S.SUBMITTED
    )
    b = portal.move(b, S.APPROVED)
    b = portal.move(b, S.COMPLETED)
    c = portal.save_draft(make_change("Database draft only", customers=("acme",)))
    gone = portal.save_draft(make_change("Deleted draft"))
    portal.archive.delete_draft(ChangeId(gone.change_id))
    portal.index.remove(gone.change_id)
    extra = [
        portal.archive_version(make_change(f"Filler {n}", customers=("acme",)), S.SUBMITTED)
        for n in range(4)
    ]
    return [a, b, c, *extra]


def test_rebuild_gives_the_same_answers_as_incremental_writes(
    store: MemoryObjectStore, live: SqlChangeIndex, rebuilt: SqlChangeIndex
) -> None:
    a, b, c, *_ = history(Portal(store, live))
    rebuilt.upsert(make_change("Stale row that is not in the bucket"), archived=True)
    report = rebuild(store, rebuilt)
    assert report.errors == []
    assert (report.changes, report.drafts, report.versions, report.executions) == (6, 1, 7, 2)
    for query in QUERIES:
        assert rebuilt.find(query) == live.find(query), query
    for change in (a, b, c):
        assert rebuilt.summary(change.change_id) == live.summary(change.change_id)
        rows = SqlDeliveryReadModel(rebuilt.engine).for_change(change.change_id)
        assert rows == SqlDeliveryReadModel(live.engine).for_change(change.change_id)
    assert [v.version for v in rebuilt.versions(a.change_id)] == [1, 2]
    assert rebuilt.versions(a.change_id)[-1] == live.versions(a.change_id)[-1]
    stats = rebuilt.statistics(visible_customers=None, now=EPOCH, created_by=None)
    assert stats == live.statistics(visible_customers=None, now=EPOCH, created_by=None)


def test_rebuild_twice_gives_the_same_rows(
    store: MemoryObjectStore, live: SqlChangeIndex, rebuilt: SqlChangeIndex
) -> None:
    history(Portal(store, live))
    first = rebuild(store, rebuilt)
    pages = [rebuilt.find(query) for query in QUERIES]
    assert rebuild(store, rebuilt) == first
    assert [rebuilt.find(query) for query in QUERIES] == pages


def test_the_current_row_is_the_latest_pointer_not_the_newest_version_file(
    store: MemoryObjectStore, live: SqlChangeIndex, rebuilt: SqlChangeIndex
) -> None:
    portal = Portal(store, live)
    change = portal.archive_version(make_change("Swap disks"), S.SUBMITTED)
    change = portal.archive_version(change, S.SUBMITTED, version=2)
    portal.move(change, S.CANCELLED)
    rebuild(store, rebuilt)
    summary = rebuilt.summary(change.change_id)
    assert summary is not None
    assert (summary.version, summary.status) == (2, S.CANCELLED)


def test_a_draft_shadowed_by_a_latest_pointer_is_ignored(
    store: MemoryObjectStore, live: SqlChangeIndex, rebuilt: SqlChangeIndex
) -> None:
    portal = Portal(store, live)
    change = portal.archive_version(make_change("Published"), S.SUBMITTED)
    store.put(
        f"drafts/{change.change_id}.json",
        change.model_copy(update={"status": S.DRAFT, "version": 5}).to_bytes(),
    )
    report = rebuild(store, rebuilt)
    assert (report.changes, report.drafts, report.skipped_drafts) == (1, 0, 1)
    summary = rebuilt.summary(change.change_id)
    assert summary is not None
    assert (summary.status, summary.version) == (S.SUBMITTED, 1)


def test_corrupt_objects_are_reported_and_skipped(
    store: MemoryObjectStore, live: SqlChangeIndex, rebuilt: SqlChangeIndex
) -> None:
    portal = Portal(store, live)
    good = portal.archive_version(make_change("Healthy change"), S.SUBMITTED)
    broken = portal.archive_version(make_change("Broken pointer"), S.SUBMITTED)
    portal.deliver(good, "acme", DistributionEvent.SUBMITTED)
    bad_keys = {
        f"archive/latest/{broken.change_id}.json": b'{"changeId": "not json',
        f"drafts/{make_change().change_id}.json": b'{"changeId": "x", "version": 0}',
        "archive/notes.txt": b"hello",
        execution_key(good.change_id, 1, "beta"): b"[]",
        execution_key(good.change_id, 2, "acme"): store.get(
            execution_key(good.change_id, 1, "acme")
        ).body,
        version_key(ChangeId(good.change_id), good.created_at, 7): good.to_bytes(),
    }
    for key, body in bad_keys.items():
        store.put(key, body)
    report = rebuild(store, rebuilt)
    assert {problem.key for problem in report.errors} == set(bad_keys)
    assert all(problem.reason for problem in report.errors)
    assert (report.changes, report.versions, report.executions) == (1, 2, 1)
    assert rebuilt.summary(good.change_id) == live.summary(good.change_id)
    fallback = rebuilt.summary(broken.change_id)  # its archived version still loads
    assert fallback is not None
    assert fallback.title == "Broken pointer"


class RefusingIndex:
    """The SQL index, whose database refuses one change's rows (or, ``down``, every write)."""

    def __init__(self, inner: SqlChangeIndex, refused: str, *, down: bool = False) -> None:
        self.inner, self.refused, self.down = inner, refused, down

    def upsert(self, change: Change, *, archived: bool) -> None:
        if self.down or change.change_id == self.refused:
            raise UpstreamError("value too long for type character varying(16)", retryable=True)
        self.inner.upsert(change, archived=archived)

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def test_a_document_the_index_refuses_is_skipped_and_named_and_the_rest_is_loaded(
    store: MemoryObjectStore, live: SqlChangeIndex, rebuilt: SqlChangeIndex
) -> None:
    a, b = history(Portal(store, live))[:2]
    refusing = RefusingIndex(rebuilt, a.change_id)
    report = rebuild_index(
        archive=ChangeArchive(store),
        store=store,
        index=refusing,  # type: ignore[arg-type]
    )
    skipped = {p.key for p in report.errors}
    assert skipped and all(a.change_id in key for key in skipped)
    assert all(
        "the index refused it: UpstreamError: value too long" in p.reason for p in report.errors
    )
    assert rebuilt.summary(b.change_id) is not None
    assert rebuilt.summary(a.change_id) is None
    assert report.changes == len(list(store.list_keys("archive/latest/"))) - 1


def test_a_database_that_refuses_every_write_stops_the_rebuild(
    store: MemoryObjectStore, live: SqlChangeIndex, rebuilt: SqlChangeIndex
) -> None:
    history(Portal(store, live))
    down = RefusingIndex(rebuilt, "", down=True)
    with pytest.raises(UpstreamError, match="value too long"):
        rebuild_index(archive=ChangeArchive(store), store=store, index=down)  # type: ignore[arg-type]

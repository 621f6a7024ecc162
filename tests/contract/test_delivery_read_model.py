"""The DeliveryReadModel contract: the in-memory fake, and the SQL adapter on SQLite and PostgreSQL.

Also migration 0005: the rows of the old ``change_executions`` table come over.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text

from changecast.delivery.ledger import Channel, DeliveryKey
from changecast.delivery.models import (
    DeliveryFailure,
    DeliveryRecord,
    ExecutionRecord,
    ExecutionStatus,
)
from changecast.delivery.outcomes import DeliveryOutcome, OutcomeMark, RecipientMark
from changecast.delivery.ports import DeliveryReadModel
from changecast.distribution.models import DistributionEvent
from changecast.errors import UpstreamError
from changecast.index.deliveries import SqlDeliveryReadModel
from changecast.index.engine import (
    MIGRATIONS,
    SCHEMA_HEAD,
    create_index_engine,
    drop_schema,
    run_migrations,
)
from changecast.index.store import SqlChangeIndex
from tests.contract.conftest import EPOCH, POSTGRES_URL, sqlite_index
from tests.fakes.deliveries import MemoryDeliveryReadModel

E = DistributionEvent
CID = "11111111-1111-4111-8111-111111111111"
OTHER = "22222222-2222-4222-8222-222222222222"


class StepClock:
    """Now, moved by hand."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


@pytest.fixture
def clock() -> StepClock:
    return StepClock(EPOCH + timedelta(hours=1))


def sql_models(
    request: pytest.FixtureRequest, tmp_path: Path, clock: StepClock
) -> Iterator[SqlDeliveryReadModel]:
    """The SQL adapter on a new SQLite index, or on the shared PostgreSQL one emptied."""
    if request.param == "sqlite":
        index = sqlite_index(tmp_path)
        yield SqlDeliveryReadModel(index.engine, clock=clock)
        index.close()
        return
    shared: SqlChangeIndex = request.getfixturevalue("postgres_index")
    found = SqlDeliveryReadModel(shared.engine, clock=clock)
    found.clear()
    with shared.engine.begin() as conn:  # clear() keeps the marks (a rebuild recounts them)
        conn.execute(text("DELETE FROM delivery_outcomes"))
    yield found


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def model(
    request: pytest.FixtureRequest, tmp_path: Path, clock: StepClock
) -> Iterator[DeliveryReadModel]:
    if request.param == "memory":
        yield MemoryDeliveryReadModel(clock)
        return
    yield from sql_models(request, tmp_path, clock)


def record(
    change_id: str = CID,
    *,
    version: int = 1,
    customer: str = "acme",
    event: DistributionEvent = E.SUBMITTED,
    status: ExecutionStatus = ExecutionStatus.DELIVERED,
    sent: int = 3,
    already_sent: int = 0,
    minutes: int = 1,
    dead_lettered: bool = False,
) -> ExecutionRecord:
    failed = 3 - sent - already_sent
    return ExecutionRecord(
        change_id=change_id,
        version=version,
        customer_code=customer,
        event=event,
        status=status,
        recipients=3,
        sent=sent,
        already_sent=already_sent,
        filtered=1,
        failed=failed,
        failures=[DeliveryFailure(recipient="x@example.com", reason="mailbox full")] * failed,
        started_at=EPOCH,
        finished_at=EPOCH + timedelta(minutes=minutes),
        dead_lettered=dead_lettered,
    )


def only(model: DeliveryReadModel, change_id: str = CID) -> DeliveryRecord:
    rows = model.for_change(change_id)
    assert len(rows) == 1, rows
    return rows[0]


def test_a_record_becomes_one_row_with_its_counts_and_reason(model: DeliveryReadModel) -> None:
    model.record_execution(record(status=ExecutionStatus.PARTIAL, sent=2))
    row = only(model)
    assert (row.status, row.recipients, row.sent, row.failed, row.filtered) == (
        ExecutionStatus.PARTIAL,
        3,
        2,
        1,
        1,
    )
    assert (row.skipped, row.delivered, row.bounced, row.complained) == (1, 0, 0, 0)
    assert row.reason == "mailbox full"
    assert row.failures == [DeliveryFailure(recipient="x@example.com", reason="mailbox full")]
    assert row.finished_at == EPOCH + timedelta(minutes=1)
    assert row.updated_at == row.finished_at


def marks(
    change_id: str = CID,
    *,
    version: int = 1,
    customer: str = "acme",
    event: DistributionEvent = E.SUBMITTED,
    second: int = 1,
    **outcomes: int,
) -> list[RecipientMark]:
    """``outcomes[name]`` recipients (r0@…, r1@…) with a mark of that outcome at ``second``."""
    delivery = DeliveryKey(customer, change_id, version, event)
    at = EPOCH + timedelta(seconds=second)
    found: list[RecipientMark] = []
    for name, count in outcomes.items():
        for n in range(count):
            mark = OutcomeMark(DeliveryOutcome(name), at, "detail")
            found.append(RecipientMark(delivery, Channel.EMAIL, f"r{n}@{customer}.example", mark))
    return found


def counts(row: DeliveryRecord) -> tuple[int, int, int]:
    return row.delivered, row.bounced, row.complained


def test_recording_again_replaces_the_run_and_keeps_the_outcome_counts(
    model: DeliveryReadModel,
) -> None:
    model.record_execution(record(status=ExecutionStatus.FAILED, sent=0, dead_lettered=True))
    model.record_outcomes(marks(bounced=2))
    model.record_execution(record(sent=1, already_sent=2, minutes=5))
    row = only(model)
    assert (row.status, row.sent, row.already_sent, row.dead_lettered, row.reason) == (
        ExecutionStatus.DELIVERED,
        1,
        2,
        False,
        None,
    )
    assert counts(row) == (0, 2, 0)


def test_outcomes_counted_before_the_record_make_a_pending_row(
    model: DeliveryReadModel, clock: StepClock
) -> None:
    model.record_outcomes(marks(version=2, customer="beta", event=E.APPROVED, delivered=4))
    model.record_outcomes(marks(version=2, customer="beta", event=E.APPROVED, complained=1))
    row = only(model)
    assert (row.status, row.version, row.event, row.customer_code) == (None, 2, E.APPROVED, "beta")
    assert (*counts(row), row.updated_at) == (3, 0, 1, clock.at)  # r0 complained after
    model.record_execution(record(version=2, customer="beta", event=E.APPROVED))
    row = only(model)
    assert (row.status, *counts(row)) == (ExecutionStatus.DELIVERED, 3, 0, 1)


def test_each_recipient_keeps_its_greatest_mark_in_any_order_and_a_replay_changes_nothing(
    model: DeliveryReadModel,
) -> None:
    model.record_execution(record())
    bounced, delivered = marks(bounced=1), marks(delivered=3, second=9)
    assert model.record_outcomes(delivered + bounced) == [False, True, True, True]
    first = model.for_change(CID)
    assert counts(first[0]) == (2, 1, 0)
    assert model.record_outcomes(bounced + delivered) == [False] * 4
    assert model.for_change(CID) == first
    delayed = marks(delayed=5)  # outranked by delivered; r3 and r4 are new but not counted
    assert model.record_outcomes(delayed) == [False, False, False, True, True]
    assert counts(only(model)) == (2, 1, 0)


def test_a_rebuild_recounts_every_row_from_the_kept_marks(
    model: DeliveryReadModel, clock: StepClock
) -> None:
    model.record_execution(record())
    model.record_execution(record(customer="beta"))
    model.record_outcomes(marks(delivered=2) + marks(customer="beta", complained=1))
    model.clear()
    assert model.for_change(CID) == []
    model.record_execution(record())
    model.record_execution(record(customer="beta"))
    assert [counts(r) for r in model.for_change(CID)] == [(0, 0, 0), (0, 0, 0)]
    clock.at += timedelta(days=3)
    assert model.recount_outcomes() == 2
    assert [(r.customer_code, counts(r)) for r in model.for_change(CID)] == [
        ("acme", (2, 0, 0)),
        ("beta", (0, 0, 1)),
    ]
    assert {r.updated_at for r in model.for_change(CID)} == {EPOCH + timedelta(minutes=1)}


def test_rows_are_listed_by_version_customer_and_event_for_one_change(
    model: DeliveryReadModel,
) -> None:
    wanted = [
        (1, "acme", E.APPROVED),
        (1, "acme", E.SUBMITTED),
        (1, "beta", E.SUBMITTED),
        (2, "acme", E.SUBMITTED),
    ]
    for version, customer, event in reversed(wanted):
        model.record_execution(record(version=version, customer=customer, event=event))
    model.record_execution(record(OTHER))
    found = [(r.version, r.customer_code, r.event) for r in model.for_change(CID)]
    assert found == wanted
    assert model.for_change("33333333-3333-4333-8333-333333333333") == []


def test_rates_sum_each_customers_rows_updated_in_the_period(
    model: DeliveryReadModel, clock: StepClock
) -> None:
    model.record_execution(record(sent=2, already_sent=1, minutes=1))
    model.record_outcomes(marks(delivered=2) + marks(second=2, bounced=3)[2:])
    model.record_execution(record(OTHER, customer="acme", sent=3, minutes=2))
    model.record_outcomes(marks(OTHER, complained=1))
    model.record_execution(record(customer="beta", minutes=3))
    clock.at = EPOCH - timedelta(days=40)
    model.record_outcomes(marks(OTHER, event=E.APPROVED, customer="gamma", bounced=5))  # long ago
    since = EPOCH - timedelta(days=30)
    rates = {r.customer_code: r for r in model.rates(since=since, customers=None)}
    assert sorted(rates) == ["acme", "beta"]
    acme = rates["acme"]
    assert (acme.sent, acme.delivered, acme.bounced, acme.complained) == (6, 2, 1, 1)
    assert acme.bounce_rate == pytest.approx(1 / 6)
    assert acme.complaint_rate == pytest.approx(1 / 6)
    assert rates["beta"].bounce_rate == 0
    only_beta = model.rates(since=since, customers=frozenset({"beta", "zeta"}))
    assert [r.customer_code for r in only_beta] == ["beta"]
    assert model.rates(since=EPOCH + timedelta(days=1), customers=None) == []


def test_clear_deletes_every_row(model: DeliveryReadModel) -> None:
    model.record_execution(record())
    model.record_outcomes(marks(OTHER, delivered=1))
    model.clear()
    assert model.for_change(CID) == model.for_change(OTHER) == []


def test_a_database_error_is_a_retryable_upstream_error(tmp_path: Path) -> None:
    index = sqlite_index(tmp_path)
    with index.engine.begin() as conn:
        conn.execute(text("DROP TABLE delivery_records"))
    broken = SqlDeliveryReadModel(index.engine)
    with pytest.raises(UpstreamError, match="could not store a delivery result") as caught:
        broken.record_execution(record())
    assert caught.value.retryable
    index.close()


# migration 0005 -------------------------------------------------------------------------------


def migrate_to(engine: Engine, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def old_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = create_index_engine(f"sqlite:///{tmp_path / 'old.db'}")
        yield engine
        engine.dispose()
        return
    schema = f"t_{uuid.uuid4().hex[:16]}"
    engine = create_index_engine(POSTGRES_URL, schema=schema)
    yield engine
    engine.dispose()
    drop_schema(POSTGRES_URL, schema)


def test_migration_0005_copies_the_old_execution_rows(old_engine: Engine) -> None:
    migrate_to(old_engine, "0004_search_upkeep")
    old = record(status=ExecutionStatus.FAILED, sent=0, dead_lettered=True)
    columns = "change_id, version, customer_code, event, status, recipients, sent, "
    columns += "already_sent, filtered, failed, started_at, finished_at, record"
    postgres = old_engine.dialect.name == "postgresql"
    record_value = "CAST(:record AS jsonb)" if postgres else ":record"
    values = ":change_id, :version, :customer_code, :event, :status, :recipients, :sent, "
    values += f":already_sent, :filtered, :failed, :started_at, :finished_at, {record_value}"
    row = {
        **old.model_dump(mode="json", exclude={"failures", "dead_lettered"}),
        "started_at": old.started_at.replace(tzinfo=None).isoformat(" "),
        "finished_at": old.finished_at.replace(tzinfo=None).isoformat(" "),
        "record": json.dumps(old.model_dump(mode="json", by_alias=True)),
    }
    if old_engine.dialect.name == "postgresql":
        row["started_at"], row["finished_at"] = old.started_at, old.finished_at
    with old_engine.begin() as conn:
        conn.execute(text(f"INSERT INTO change_executions ({columns}) VALUES ({values})"), row)
    assert run_migrations(old_engine) == SCHEMA_HEAD
    copied = only(SqlDeliveryReadModel(old_engine))
    assert (copied.status, copied.failed, copied.dead_lettered) == (ExecutionStatus.FAILED, 3, True)
    assert copied.reason == "mailbox full"
    assert (copied.finished_at, copied.updated_at) == (old.finished_at, old.finished_at)
    assert copied.failures == old.failures


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def sql_model(
    request: pytest.FixtureRequest, tmp_path: Path, clock: StepClock
) -> Iterator[SqlDeliveryReadModel]:
    yield from sql_models(request, tmp_path, clock)


def test_concurrent_batches_of_one_delivery_never_count_past_each_other(
    sql_model: SqlDeliveryReadModel,
) -> None:
    """Four writers, each its own recipients of one delivery, in small batches at once."""
    import threading

    every = marks(delivered=120)
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def write(share: list[RecipientMark]) -> None:
        start.wait()
        try:
            for first in range(0, len(share), 3):
                sql_model.record_outcomes(share[first : first + 3])
        except BaseException as exc:  # the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(every[n::4],)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert counts(only(sql_model)) == (120, 0, 0)

"""Window queries (SqlWindowIndex) and the conflict, blackout and signoff gates on a real index."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from changecast.access.signoff import Decision, SignoffRecord, signoff_key
from changecast.actions.window_gates import BlackoutGate, ConflictGate, SignoffGate
from changecast.changes.models import Action, ChangeStatus
from changecast.customers.directory import load_model
from changecast.customers.models import AppConfig, Blackout
from changecast.index.store import SqlChangeIndex
from changecast.index.windows import SqlWindowIndex
from tests.contract.conftest import make_change
from tests.fakes.store import MemoryObjectStore

S = ChangeStatus
DAY = datetime(2030, 3, 1, 10, 0)  # local wall-clock (UTC schedules)
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "ccm" / "config.json"


def at(hours: float) -> datetime:
    return DAY + timedelta(hours=hours)


def utc(hours: float) -> datetime:
    return at(hours).replace(tzinfo=UTC)


@pytest.fixture
def windows(index: SqlChangeIndex) -> SqlWindowIndex:
    return SqlWindowIndex(index.engine)


def test_overlapping_finds_only_active_changes_of_the_customer(
    index: SqlChangeIndex, windows: SqlWindowIndex
) -> None:
    first = make_change("First", customers=("acme",), start=at(0), status=S.APPROVED)
    other_customer = make_change("Other", customers=("beta",), start=at(0), status=S.SUBMITTED)
    cancelled = make_change("Gone", customers=("acme",), start=at(0), status=S.CANCELLED)
    later = make_change("Later", customers=("acme",), start=at(2), status=S.SUBMITTED)  # touches
    for change in (first, other_customer, cancelled, later):
        index.upsert(change, archived=True)
    found = windows.overlapping(customers=["acme"], start=utc(1), end=utc(2))
    assert [s.title for s in found] == ["First"]  # [10,12) vs [11,12): yes; [12,14): no
    both = windows.overlapping(customers=["acme", "beta"], start=utc(1), end=utc(3))
    assert {s.title for s in both[:2]} == {"First", "Other"}  # same start: by change id
    assert [s.title for s in both[2:]] == ["Later"]


def test_overlapping_leaves_out_the_change_itself(
    index: SqlChangeIndex, windows: SqlWindowIndex
) -> None:
    change = make_change(customers=("acme",), start=at(0))
    index.upsert(change, archived=True)
    assert (
        windows.overlapping(customers=["acme"], start=utc(0), end=utc(2), exclude=change.change_id)
        == []
    )


def test_conflict_gate_names_the_first_change_and_never_blocks(
    index: SqlChangeIndex, windows: SqlWindowIndex
) -> None:
    first = make_change("Patch databases", customers=("acme", "beta"), start=at(0))
    index.upsert(first, archived=True)
    second = make_change("Rotate certificates", customers=("acme",), start=at(1))
    findings = ConflictGate(windows).check(second, Action.SUBMIT)
    assert len(findings) == 1
    assert findings[0].customer_code == "acme"
    assert not findings[0].blocking
    assert "Patch databases" in findings[0].message
    assert first.change_id in findings[0].message


def test_windows_for_lists_the_customers_documents_ending_after(
    index: SqlChangeIndex, windows: SqlWindowIndex
) -> None:
    old = make_change("Old", customers=("acme",), start=at(-24 * 100), status=S.COMPLETED)
    recent = make_change("Recent", customers=("acme",), start=at(-24), status=S.APPROVED)
    draft = make_change("Draft", customers=("acme",), start=at(0), status=S.DRAFT)
    for change in (old, recent, draft):
        index.upsert(change, archived=change.status is not S.DRAFT)
    found = windows.windows_for(
        customer="acme", statuses={S.APPROVED, S.COMPLETED}, ends_after=utc(-24 * 90)
    )
    assert [c.title for c in found] == ["Recent"]
    assert windows.version_document(recent.change_id, 1) == recent
    assert windows.version_document(recent.change_id, 2) is None


def config_with(**fields: object) -> AppConfig:
    data = json.loads(FIXTURE.read_text(encoding="utf-8"))
    data.update(fields)
    return AppConfig.model_validate(data)


def test_the_ccm_fixture_still_loads_with_no_blackouts() -> None:
    config = load_model(FIXTURE, AppConfig)
    assert config.blackouts == ()
    assert config.require_customer_signoff is False
    assert all(m.blackouts == () for m in config.customer_mappings.values())


def test_blackout_gate_blocks_a_touching_window_and_names_the_reason() -> None:
    config = config_with(
        blackouts=[
            {"start": "2030-03-01T12:00:00Z", "end": "2030-03-02T00:00:00Z", "reason": "Q1 freeze"}
        ]
    )
    code = next(iter(config.customer_mappings))
    touching = make_change(customers=(code,), start=at(0))  # ends 12:00, as the blackout starts
    clear = make_change(customers=(code,), start=at(-3))
    findings = BlackoutGate(config).check(touching, Action.SUBMIT)
    assert [f.blocking for f in findings] == [True]
    assert "Q1 freeze" in findings[0].message
    assert findings[0].customer_code is None
    assert BlackoutGate(config).check(clear, Action.SUBMIT) == []


def test_a_customers_own_blackout_binds_that_customer_only() -> None:
    base = json.loads(FIXTURE.read_text(encoding="utf-8"))
    first, second = list(base["customer_mappings"])[:2]
    base["customer_mappings"][first]["blackouts"] = [
        {"start": "2030-03-01T00:00:00Z", "end": "2030-03-01T23:59:00Z", "reason": "audit week"}
    ]
    config = AppConfig.model_validate(base)
    hit = BlackoutGate(config).check(make_change(customers=(first,), start=at(0)), Action.SUBMIT)
    assert [f.customer_code for f in hit] == [first]
    assert (
        BlackoutGate(config).check(make_change(customers=(second,), start=at(0)), Action.SUBMIT)
        == []
    )


def test_a_blackout_needs_ordered_instants() -> None:
    with pytest.raises(ValueError, match="end must be after start"):
        Blackout(start=utc(2), end=utc(1), reason="x")
    with pytest.raises(ValueError, match="offset"):
        Blackout(start=at(1), end=at(2), reason="x")


def test_signoff_gate_blocks_approval_until_every_customer_signed_off() -> None:
    base = json.loads(FIXTURE.read_text(encoding="utf-8"))
    codes = tuple(list(base["customer_mappings"])[:2])
    store = MemoryObjectStore()
    change = make_change(customers=codes, start=at(0))
    off = SignoffGate(config_with(), store)
    assert off.check(change, Action.APPROVE) == []  # require_customer_signoff is off
    gate = SignoffGate(config_with(require_customer_signoff=True), store)
    assert gate.check(change, Action.SUBMIT) == []
    assert sorted(f.customer_code or "" for f in gate.check(change, Action.APPROVE)) == sorted(
        codes
    )
    for code, decision in zip(codes, (Decision.APPROVE, Decision.REJECT), strict=True):
        record = SignoffRecord(
            change_id=change.change_id,
            version=1,
            customer_code=code,
            recipient=f"ops@{code}.example.com",
            decision=decision,
            at=utc(0),
        )
        key = signoff_key(change.change_id, 1, code, record.recipient)
        store.put(key, record.model_dump_json(by_alias=True).encode())
    left = gate.check(change, Action.APPROVE)
    assert [f.customer_code for f in left] == [codes[1]]
    assert "rejected version 1" in left[0].message

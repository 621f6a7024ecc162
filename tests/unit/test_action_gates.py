"""Gates in the action pipeline: a blocking finding refuses submit and approve unless overridden.

The gates here are tiny classes built for the test (a ``Gate`` is just ``name`` and ``check``);
the store is the in-memory fake, the index a real SQLite one, the audit trail the real one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from changecast.access.models import Actor, Role
from changecast.actions import drafts, pipeline
from changecast.actions.context import ChangeDeps
from changecast.actions.gates import Gate, GateFinding, GateRefusedError, parse_overrides
from changecast.actions.pipeline import ActionRequest
from changecast.audit.models import AuditAction, AuditQuery
from changecast.audit.service import AuditTrail
from changecast.changes.archive import ChangeArchive
from changecast.changes.models import Action, Change, ChangeStatus
from changecast.customers.directory import CustomerDirectory
from changecast.errors import InvalidInputError
from changecast.ids import ChangeId
from changecast.index.audit_store import SqlAuditIndex
from changecast.index.engine import open_index
from changecast.index.store import SqlChangeIndex
from changecast.layout import draft_key, latest_key, version_key
from changecast.local.demo import demo_config
from tests.builders import change_input
from tests.fakes.store import MemoryObjectStore

AUTHOR = Actor(email="author@ccoe.example.com", role=Role.CHANGE_MANAGER)
APPROVER = Actor(email="approver@ccoe.example.com", role=Role.CHANGE_MANAGER)
AT = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


class FixedClock:
    def now(self) -> datetime:
        return AT


@dataclass
class RecordingGate:
    """Finds what it is told to, and remembers what it was asked about."""

    name: str
    findings: list[GateFinding] = field(default_factory=list)
    seen: list[tuple[Action, ChangeStatus, int]] = field(default_factory=list)

    def check(self, change: Change, action: Action) -> Sequence[GateFinding]:
        self.seen.append((action, change.status, change.version))
        return self.findings


BLACKOUT = GateFinding(gate="blackout", message="acme is in a freeze", customer_code="acme")
CONFLICT = GateFinding(gate="conflict", message="overlaps another change", blocking=False)


@pytest.fixture
def store() -> MemoryObjectStore:
    return MemoryObjectStore()


@pytest.fixture
def sql(tmp_path: Path) -> Iterator[SqlChangeIndex]:
    index = open_index(f"sqlite:///{tmp_path / 'index.db'}")
    yield index
    index.close()


@pytest.fixture
def gate() -> RecordingGate:
    return RecordingGate("blackout", [BLACKOUT])


@pytest.fixture
def deps(store: MemoryObjectStore, sql: SqlChangeIndex, gate: RecordingGate) -> ChangeDeps:
    gates: list[Gate] = [gate]
    return ChangeDeps(
        archive=ChangeArchive(store),
        index=sql,
        directory=CustomerDirectory(demo_config(3, portal_url="http://portal.test")),
        clock=FixedClock(),
        audit=AuditTrail(store=store, index=SqlAuditIndex(sql.engine)),
        gates=gates,
    )


def new_draft(deps: ChangeDeps) -> ChangeId:
    return ChangeId(drafts.create_draft(deps=deps, actor=AUTHOR, data=change_input()).change_id)


def perform(deps: ChangeDeps, actor: Actor, cid: ChangeId, request: ActionRequest) -> Change:
    return pipeline.perform(deps=deps, actor=actor, change_id=cid, request=request).change


def audit_event(sql: SqlChangeIndex, cid: ChangeId, action: AuditAction) -> dict[str, str]:
    page = SqlAuditIndex(sql.engine).find(AuditQuery(change_id=cid, page_size=100))
    return next(event.detail for event in page.items if event.action is action)


def test_a_blocking_finding_refuses_the_submit_and_writes_nothing(
    deps: ChangeDeps, store: MemoryObjectStore, gate: RecordingGate
) -> None:
    cid = new_draft(deps)
    with pytest.raises(GateRefusedError) as refused:
        perform(deps, AUTHOR, cid, ActionRequest(Action.SUBMIT))
    assert refused.value.findings == [BLACKOUT]
    assert refused.value.kind == "conflict"
    assert "blackout" in refused.value.message
    assert draft_key(cid) in store.objects
    assert latest_key(cid) not in store.objects
    assert not [key for key in store.objects if key.startswith(("archive/", "customers/"))]
    assert gate.seen == [(Action.SUBMIT, ChangeStatus.SUBMITTED, 1)]  # as it would be archived


def test_an_override_lets_the_submit_through_and_is_kept_on_the_version_and_audited(
    deps: ChangeDeps, store: MemoryObjectStore, sql: SqlChangeIndex
) -> None:
    cid = new_draft(deps)
    request = ActionRequest(Action.SUBMIT, overrides={"blackout": "  CAB approved the freeze  "})
    submitted = perform(deps, AUTHOR, cid, request)
    assert submitted.status is ChangeStatus.SUBMITTED
    archived = deps.archive.read(version_key(cid, submitted.created_at, 1))
    [override] = archived.overrides
    assert (override.gate, override.reason, override.by) == (
        "blackout",
        "CAB approved the freeze",
        AUTHOR.email,
    )
    assert (override.action, override.version, override.at) == (Action.SUBMIT, 1, AT)
    assert json.loads(store.objects[latest_key(cid)])["overrides"][0]["gate"] == "blackout"
    detail = audit_event(sql, cid, AuditAction.SUBMIT)
    assert json.loads(detail["overrides"]) == [
        {"gate": "blackout", "reason": "CAB approved the freeze"}
    ]


def test_a_change_without_overrides_stores_no_overrides_field(
    deps: ChangeDeps, store: MemoryObjectStore, gate: RecordingGate
) -> None:
    gate.findings = [CONFLICT]  # shown, never blocking
    cid = new_draft(deps)
    submitted = perform(deps, AUTHOR, cid, ActionRequest(Action.SUBMIT))
    assert submitted.overrides == []
    assert "overrides" not in json.loads(store.objects[latest_key(cid)])
    assert "overrides" not in submitted.to_json_dict()


def test_an_override_of_a_gate_that_found_nothing_blocking_is_not_kept(
    deps: ChangeDeps, gate: RecordingGate
) -> None:
    gate.findings = [CONFLICT]
    cid = new_draft(deps)
    request = ActionRequest(Action.SUBMIT, overrides={"conflict": "fine", "signoff": "fine"})
    assert perform(deps, AUTHOR, cid, request).overrides == []


def test_approve_is_gated_and_its_override_is_added_to_the_submit_one(
    deps: ChangeDeps, gate: RecordingGate, sql: SqlChangeIndex
) -> None:
    cid = new_draft(deps)
    perform(deps, AUTHOR, cid, ActionRequest(Action.SUBMIT, overrides={"blackout": "first"}))
    with pytest.raises(GateRefusedError):
        perform(deps, APPROVER, cid, ActionRequest(Action.APPROVE))
    assert deps.archive.get_latest(cid).change.status is ChangeStatus.SUBMITTED
    approved = perform(
        deps, APPROVER, cid, ActionRequest(Action.APPROVE, overrides={"blackout": "second"})
    )
    assert approved.status is ChangeStatus.APPROVED
    assert [(o.action, o.reason, o.by) for o in approved.overrides] == [
        (Action.SUBMIT, "first", AUTHOR.email),
        (Action.APPROVE, "second", APPROVER.email),
    ]
    detail = audit_event(sql, cid, AuditAction.APPROVE)
    assert json.loads(detail["overrides"]) == [{"gate": "blackout", "reason": "second"}]
    assert [seen[0] for seen in gate.seen] == [Action.SUBMIT, Action.APPROVE, Action.APPROVE]


def test_other_actions_never_run_the_gates(deps: ChangeDeps, gate: RecordingGate) -> None:
    cid = new_draft(deps)
    perform(deps, AUTHOR, cid, ActionRequest(Action.SUBMIT, overrides={"blackout": "ok"}))
    gate.seen.clear()
    rejected = perform(deps, APPROVER, cid, ActionRequest(Action.REJECT, comment="no"))
    assert rejected.status is ChangeStatus.REJECTED
    assert gate.seen == []


def test_gate_findings_for_the_preview_are_read_only(
    deps: ChangeDeps, store: MemoryObjectStore
) -> None:
    cid = new_draft(deps)
    draft = drafts.get_draft(deps=deps, actor=AUTHOR, change_id=cid)
    puts = len(store.puts)
    found = pipeline.gate_findings(deps=deps, change=draft, action=Action.SUBMIT)
    assert found == [BLACKOUT]
    assert pipeline.gate_findings(deps=deps, change=draft, action=Action.CANCEL) == []
    assert len(store.puts) == puts


@pytest.mark.parametrize(
    ("raw", "field_name"),
    [
        ({"blackout": ""}, "overrides.blackout"),
        ({"blackout": "x" * 501}, "overrides.blackout"),
        ({"no such/gate": "why"}, "overrides"),
    ],
)
def test_a_bad_override_is_invalid_input_naming_the_field(
    raw: dict[str, str], field_name: str
) -> None:
    with pytest.raises(InvalidInputError) as bad:
        parse_overrides(raw)
    assert [problem.field for problem in bad.value.details] == [field_name]


def test_a_bad_override_refuses_the_action_before_any_write(
    deps: ChangeDeps, store: MemoryObjectStore
) -> None:
    cid = new_draft(deps)
    with pytest.raises(InvalidInputError):
        perform(deps, AUTHOR, cid, ActionRequest(Action.SUBMIT, overrides={"blackout": " "}))
    assert latest_key(cid) not in store.objects


def test_an_unknown_action_name_is_not_found() -> None:
    assert pipeline.parse_action("approve") is Action.APPROVE
    assert pipeline.parse_action("retry") == pipeline.RETRY
    with pytest.raises(Exception, match="unknown action 'edit'"):
        pipeline.parse_action("edit")

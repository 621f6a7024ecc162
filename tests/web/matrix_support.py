"""The role table of the issue, and a runner checking every role x action x customer on a surface.

The expected outcome is written out here, independently of ``access.policy``. A refused write
must change nothing; an allowed write must leave an audit event naming the actor and the change.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from changecast.access.models import Actor, Role
from changecast.actions import drafts, pipeline
from changecast.actions.pipeline import ActionRequest
from changecast.audit.models import AuditAction, AuditQuery
from changecast.bootstrap import Runtime
from changecast.changes.models import Action
from changecast.ids import ChangeId
from tests.builders import change_input

OWN, FOREIGN = "acme", "globex"
SETUP = Actor(email="setup@ccoe.example.com", role=Role.CHANGE_MANAGER)
SETUP_APPROVER = Actor(email="setup.approver@ccoe.example.com", role=Role.CHANGE_MANAGER)
"""Approves SETUP's changes (four eyes)."""
EMAILS = {role: f"{role.value.lower()}@ccoe.example.com" for role in Role}

WRITES = {
    "create", "update draft", "delete draft", "submit", "approve", "reject", "complete",
    "cancel", "edit", "retry", "redeliver",
}  # fmt: skip
READS = {"view", "versions", "deliveries", "search"}
AUDIT = {"audit browse", "audit export"}
ALL_ACTIONS = sorted(WRITES | READS | AUDIT)


def allowed(role: Role, action: str, own: bool) -> bool:
    """The issue's table: who may do what, for their own customer and for another."""
    if action in WRITES:
        return role is Role.CHANGE_MANAGER or (role is Role.CUSTOMER_MANAGER and own)
    if action in READS:
        return role is not Role.CUSTOMER_MANAGER or own
    assert action in AUDIT
    return role is Role.AUDITOR


@dataclass(frozen=True)
class Case:
    role: Role
    action: str
    own: bool

    @property
    def code(self) -> str:
        return OWN if self.own else FOREIGN

    @property
    def label(self) -> str:
        return f"{self.role.value} {self.action} {'own' if self.own else 'foreign'}"


@dataclass(frozen=True)
class Surface:
    """How one surface (API or pages) performs an action and reports its outcome."""

    states: dict[str, str]
    """action: the state its change must be in (none, draft, submitted, approved)."""
    send: Callable[[TestClient, str, str | None, str, str], Any]
    """(client, action, change id, customer, title) -> response."""
    outcome: Callable[[str, Any, str | None], bool | str]
    """True if carried out, False if refused for lack of permission, a string otherwise."""
    created: Callable[[Any], str | None]
    """The id of the change a "create" made."""


def prepare(runtime: Runtime, state: str, code: str, title: str) -> str | None:
    """A change for ``code`` in ``state``, made by SETUP through the services."""
    if state == "none":
        return None
    data = change_input(customers=[code], title=title)
    cid = ChangeId(drafts.create_draft(deps=runtime.changes, actor=SETUP, data=data).change_id)
    if state in {"submitted", "approved"}:
        pipeline.perform(
            deps=runtime.changes, actor=SETUP, change_id=cid, request=ActionRequest(Action.SUBMIT)
        )
    if state == "approved":
        pipeline.perform(
            deps=runtime.changes,
            actor=SETUP_APPROVER,
            change_id=cid,
            request=ActionRequest(Action.APPROVE),
        )
    return cid


def snapshot(runtime: Runtime, cid: str | None) -> Any:
    """What a refused request must leave untouched: the archived latest and the draft."""
    if cid is None:
        return sorted(runtime.store.list_keys("drafts/"))
    keys = [f"archive/latest/{cid}.json", f"drafts/{cid}.json"]
    return [runtime.store.get(k).body if runtime.store.exists(k) else None for k in keys]


AUDITED_AS = {
    "update draft": AuditAction.EDIT,
    "delete draft": AuditAction.DELETE_DRAFT,
    "redeliver": AuditAction.REQUEST,  # a delivery route: the web layer's generic event
}


def audited(runtime: Runtime, case: Case, cid: str | None) -> bool:
    """Exactly the action's own event: no missing event, no generic duplicate."""
    events = runtime.audit_index.find(AuditQuery(actor=EMAILS[case.role], change_id=cid)).items
    expected = AUDITED_AS.get(case.action) or AuditAction(case.action)
    return [event.action for event in events] == [expected]


def run_case(
    runtime: Runtime, surface: Surface, client: TestClient, case: Case
) -> tuple[list[str], str | None]:
    """The violations of one case, and the change id if an audited write happened."""
    title = f"Matrix {case.action} {uuid.uuid4().hex[:10]}"
    cid = prepare(runtime, surface.states[case.action], case.code, title)
    before = snapshot(runtime, cid)
    answer = surface.send(client, case.action, cid, case.code, title)
    if case.action == "create":
        cid = surface.created(answer)
    got = surface.outcome(case.action, answer, cid)
    want = allowed(case.role, case.action, case.own)
    problems = []
    if got is not want:
        problems.append(f"{case.label}: expected {'allowed' if want else 'refused'}, got {got!r}")
    elif not want and case.action in WRITES and snapshot(runtime, cid) != before:
        problems.append(f"{case.label}: refused, yet the change was modified")
    elif want and case.action in WRITES and not audited(runtime, case, cid):
        problems.append(f"{case.label}: allowed, but no audit event names the actor and change")
    return problems, cid if want and case.action in WRITES else None


def run_matrix(
    runtime: Runtime, surface: Surface, clients: dict[Role, TestClient]
) -> tuple[int, list[str], set[str]]:
    """(cases run, violations, ids of changes with audited writes)."""
    cases = [Case(r, a, own) for r in Role for a in surface.states for own in (True, False)]
    violations: list[str] = []
    changed: set[str] = set()
    for case in cases:
        problems, cid = run_case(runtime, surface, clients[case.role], case)
        violations.extend(problems)
        if cid:
            changed.add(cid)
    return len(cases), violations, changed

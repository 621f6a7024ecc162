"""The one action pipeline: every action on a change, from every entry point, goes through here.

``perform`` runs authorize → load → decide (the pure workflow) → gates (submit, approve) →
archive → triggers (the pure planner, then the conditional writes) → index → audit. The API,
the pages, the CLI and token-authenticated calls all call it; nothing else writes a change's
version, latest pointer or triggers. An action S3 already holds (an interrupted one, retried by
the same user) skips the gates and the archive and finishes the rest (``actions.resume``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal

import structlog

from changecast.access.models import Actor
from changecast.access.policy import (
    require_change_action,
)
from changecast.actions.auditing import audit_change
from changecast.actions.context import (
    ActionResult,
    ChangeDeps,
    now,
)
from changecast.actions.decisions import Decision, decide, delete_submitted_draft
from changecast.actions.gates import GateFinding, parse_overrides, pass_gates, run_gates
from changecast.actions.resume import (
    archive_edit,
    record_action,
    same_content,
)
from changecast.actions.service import latest_of
from changecast.audit.models import AuditAction
from changecast.changes.models import Action, Change, ChangeEdit, ChangeStatus
from changecast.changes.past_window import window_over
from changecast.distribution.models import DistributionReport
from changecast.distribution.planner import plan_triggers
from changecast.distribution.service import ResultCallback, write_triggers
from changecast.errors import ConflictError, NotFoundError
from changecast.ids import ChangeId
from changecast.layout import version_key
from changecast.text_input import checked

log = structlog.get_logger()

Retry = Literal["retry"]
RETRY: Retry = "retry"
NAMED_ACTIONS = ("submit", "approve", "reject", "complete", "cancel", "retry")
"""The actions a route or command names (an edit comes with its document instead)."""


@dataclass(frozen=True)
class ActionRequest:
    """What an entry point asks for: the action, and what the person sent with it."""

    action: Action | Retry
    comment: str | None = None
    overrides: Mapping[str, str] = field(default_factory=dict)
    """Gate name -> reason (at most 500 characters): act past that gate's blocking findings."""
    edit: ChangeEdit | None = None
    """The edited document, for ``Action.EDIT``."""
    on_result: ResultCallback | None = None
    """Called with each customer's trigger result as it is written (the streaming pages)."""


def parse_action(name: str) -> Action | Retry:
    """The action a route or command names; unknown names are "not found"."""
    if name == RETRY:
        return RETRY
    if name in NAMED_ACTIONS:
        return Action(name)
    raise NotFoundError(
        f"unknown action {name[:30]!r}: use submit, approve, reject, complete, cancel or retry"
    )


def perform(
    *, deps: ChangeDeps, actor: Actor, change_id: ChangeId, request: ActionRequest
) -> ActionResult:
    """Perform one action on a change: the only way any entry point changes a submitted change."""
    action = request.action
    if request.comment is not None:  # a history comment (a cancel reason): lines, no controls
        comment = checked(request.comment, field="comment", multi_line=True)
        request = replace(request, comment=comment)
    if action == RETRY:
        return _retry(deps, actor=actor, change_id=change_id, on_result=request.on_result)
    decision = decide(  # authorize, load, decide (pure workflow)
        deps,
        actor=actor,
        change_id=change_id,
        action=action,
        comment=request.comment,
        edit=request.edit,
    )
    if not decision.resumed:
        decision = _pass_gates(deps, decision, actor=actor, overrides=request.overrides)
        decision = _archive(deps, decision, actor=actor)
    by, at = actor.email, now(deps)
    if decision.action is Action.SUBMIT:  # a submit's triggers carry its history entry
        by, at = decision.current.history[-1].by, decision.current.history[-1].at
    report = _distribute(deps, decision, by=by, at=at, on_result=request.on_result)
    record_action(
        deps,
        actor=actor,
        action=decision.action,
        before=decision.before,
        after=decision.current,
        comment=decision.comment,
        overrides=_overrides_detail(decision),
    )
    if decision.action is Action.SUBMIT:
        delete_submitted_draft(deps, change_id)
    return ActionResult(
        change=decision.current, distribution=report, warnings=_warnings(deps, decision)
    )


def _warnings(deps: ChangeDeps, decision: Decision) -> list[str]:
    """A window already over, said after a submit, an edit or an (overridden) approval."""
    if decision.action not in {Action.SUBMIT, Action.EDIT, Action.APPROVE}:
        return []
    over = window_over(decision.current, now(deps))
    return [over] if over else []


def gate_findings(*, deps: ChangeDeps, change: Change, action: Action) -> list[GateFinding]:
    """Read-only: what the gates would say about ``action`` now (the preview lists them)."""
    return run_gates(deps.gates, change, action)


# --- gates, archive ----------------------------------------------------------------------------


def _pass_gates(
    deps: ChangeDeps, decision: Decision, *, actor: Actor, overrides: Mapping[str, str]
) -> Decision:
    """Refuse on an unoverridden blocking finding; keep the overrides used on the document."""
    checked = parse_overrides(overrides)
    used = pass_gates(
        deps.gates,
        decision.current,
        action=decision.action,
        overrides=checked,
        by=actor.email,
        at=now(deps),
    )
    if not used:
        return decision
    current = decision.current.model_copy(
        update={"overrides": [*decision.current.overrides, *used]}
    )
    return replace(decision, current=current)


def _archive(deps: ChangeDeps, decision: Decision, *, actor: Actor) -> Decision:
    """The S3 writes: the new version (submit, edit), then the latest pointer."""
    current = decision.current
    if decision.action is Action.SUBMIT:
        current = _archive_first_version(deps, current)
    elif decision.action is Action.EDIT:
        current = archive_edit(deps, current, current=decision.before, actor=actor)
    deps.archive.put_latest(current, etag=decision.etag)
    return replace(decision, current=current)


def _archive_first_version(deps: ChangeDeps, change: Change) -> Change:
    """Write version 1; if an interrupted submit already wrote it, carry on with that document.

    Version 1 without a latest pointer was never visible: it is adopted when it holds what this
    submit would write. Otherwise it is kept (versions are immutable) and this submit refused.
    """
    change_id = ChangeId(change.change_id)
    try:
        deps.archive.write_version(change)
        return change
    except ConflictError:
        orphan = deps.archive.read(version_key(change_id, change.created_at, 1))
        if same_content(orphan, change):
            log.info("submit_resumed", change_id=change_id, step="archived version 1")
            return orphan
        raise ConflictError(
            f"an interrupted submit of change {change_id} by {orphan.modified_by} archived "
            "version 1 with other content than the draft has now; restore the draft to what "
            "was submitted and submit again",
            change_id=change_id,
        ) from None


# --- triggers, and what follows ----------------------------------------------------------------


def _distribute(
    deps: ChangeDeps,
    decision: Decision,
    *,
    by: str,
    at: datetime,
    on_result: ResultCallback | None,
) -> DistributionReport:
    """Plan the triggers (pure), then write the missing ones (conditional writes)."""
    current = decision.current
    key = version_key(ChangeId(current.change_id), current.created_at, current.version)
    triggers = plan_triggers(
        action=decision.action,
        previous=decision.previous,
        current=current,
        archive_key=key,
        actor=by,
        at=at,
    )
    results = write_triggers(
        store=deps.archive.store,
        triggers=triggers,
        clock=deps.clock,
        concurrency=deps.trigger_concurrency,
        on_result=on_result,
    )
    return DistributionReport(change_id=current.change_id, version=current.version, results=results)


def _overrides_detail(decision: Decision) -> str | None:
    """The overrides this action used, for the audit event's ``overrides`` detail."""
    used = [
        {"gate": o.gate, "reason": o.reason}
        for o in decision.current.overrides
        if o.action is decision.action and o.version == decision.current.version
    ]
    return json.dumps(used) if used else None


def _retry(
    deps: ChangeDeps, *, actor: Actor, change_id: ChangeId, on_result: ResultCallback | None
) -> ActionResult:
    """Write again the triggers of the latest action; only the missing ones are written."""
    current = latest_of(deps, change_id).change
    last = current.history[-1] if current.history else None
    if last is None:
        report = DistributionReport(change_id=change_id, version=current.version)
        return ActionResult(change=current, distribution=report)
    require_change_action(actor, last.action, current)
    previous = None
    if last.action is Action.EDIT and current.version > 1:
        previous = deps.archive.get_version(change_id, current.created_at, current.version - 1)
        previous = previous.model_copy(update={"status": _status_before(current)})
    decision = Decision(last.action, current, previous, current, etag=None)
    report = _distribute(deps, decision, by=actor.email, at=now(deps), on_result=on_result)
    audit_change(deps, actor=actor, action=AuditAction.RETRY, before=current, after=current)
    return ActionResult(change=current, distribution=report)


def _status_before(change: Change) -> ChangeStatus:
    """The status the change had just before its last history entry."""
    return change.history[-2].status if len(change.history) >= 2 else change.status

"""What the preview adds for gates: each gate's findings, by customer.

Also the approval request's overlaps and sign-off links, as the worker renders them (the links
stay placeholders: each recipient gets their own when it is sent).
"""

from __future__ import annotations

from dataclasses import dataclass

from changecast.actions.context import ChangeDeps
from changecast.actions.gates import GateFinding
from changecast.actions.pipeline import gate_findings
from changecast.bootstrap import Runtime
from changecast.changes.models import Action, Change, ChangeStatus
from changecast.delivery.approval_extras import ApprovalExtras, approval_extras
from changecast.distribution.models import DistributionEvent

PREVIEW_ACTION = {ChangeStatus.DRAFT: Action.SUBMIT, ChangeStatus.SUBMITTED: Action.APPROVE}


@dataclass(frozen=True)
class FindingGroup:
    """The findings about one customer (``customer_code`` None: the whole change)."""

    customer_code: str | None
    findings: list[GateFinding]


def preview_findings(deps: ChangeDeps, change: Change) -> dict[str, object]:
    """The gates' findings for the next action (submit for a draft, approve when submitted)."""
    action = PREVIEW_ACTION.get(change.status)
    if action is None:
        return {"action": None, "groups": []}
    found = gate_findings(deps=deps, change=change, action=action)
    groups: dict[str | None, list[GateFinding]] = {}
    for finding in found:
        groups.setdefault(finding.customer_code, []).append(finding)
    ordered = sorted(groups.items(), key=lambda item: (item[0] is not None, item[0] or ""))
    return {"action": action.value, "groups": [FindingGroup(c, f) for c, f in ordered]}


def preview_extras(
    runtime: Runtime, change: Change, code: str, event: DistributionEvent
) -> ApprovalExtras | None:
    """The approval request's extras, from the same index query the worker makes."""
    return approval_extras(
        change,
        code,
        event,
        windows=runtime.windows,
        signoff_links=runtime.signoff_links is not None,
    )

"""The audit event of each change use case: who, which change and version, and what changed."""

from __future__ import annotations

from changecast.access.models import Actor
from changecast.audit.diff import changed_paths
from changecast.audit.models import AuditAction
from changecast.audit.service import new_event
from changecast.changes.context import ChangeDeps
from changecast.changes.models import Action, Change


def audit_change(
    deps: ChangeDeps,
    *,
    actor: Actor,
    action: AuditAction | Action,
    before: Change | None,
    after: Change | None,
    comment: str | None = None,
) -> None:
    """Record one event, if the deps have a sink. Call it after the S3 write succeeded."""
    if deps.audit is None:
        return
    action = AuditAction(action.value)
    subject = after or before
    if subject is None:
        raise ValueError("an audited change action needs the change before or after")
    codes = set(subject.customer_codes) | set(before.customer_codes if before else [])
    fields: list[str] = []
    if action in {AuditAction.CREATE, AuditAction.EDIT} and after is not None:
        fields = changed_paths(before.to_json_dict() if before else None, after.to_json_dict())
    event = new_event(
        actor=actor,
        action=action,
        clock=deps.clock,
        change_id=subject.change_id,
        version=subject.version,
        customers=sorted(codes),
        changed_fields=fields,
        status_from=before.status.value if before else None,
        status_to=after.status.value if after else None,
        comment=comment,
    )
    deps.audit.record(event)

"""The audit event of each change use case: who, which change and version, and what changed."""

from __future__ import annotations

import uuid

import structlog

from changecast.access.models import Actor
from changecast.actions.context import ChangeDeps
from changecast.audit.diff import changed_paths
from changecast.audit.models import AuditAction
from changecast.audit.service import new_event
from changecast.changes.models import Action, Change

log = structlog.get_logger()
_EVENT_IDS = uuid.UUID("5b0f3c1e-6a7d-4e0a-9c1f-2d3e4f5a6b7c")


def history_event_id(change: Change) -> str:
    """A stable audit event id for the action that added ``change``'s last history entry.

    A retried action that completes an interrupted one records the same event again; the audit
    index keeps one row per event id.
    """
    return str(uuid.uuid5(_EVENT_IDS, f"{change.change_id}/{len(change.history)}"))


def audit_change(
    deps: ChangeDeps,
    *,
    actor: Actor,
    action: AuditAction | Action,
    before: Change | None,
    after: Change | None,
    comment: str | None = None,
    event_id: str | None = None,
    detail: dict[str, str] | None = None,
) -> None:
    """Record one event, if the deps have a sink. Call it after the S3 write succeeded.

    A failing sink is logged, never raised: the action it records has already happened.
    """
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
        **({"event_id": event_id} if event_id else {}),
        **({"detail": detail} if detail else {}),
    )
    try:
        deps.audit.record(event)
    except Exception as exc:  # the change's own history still names who did what
        log.error(
            "audit_write_failed",
            target="sink",
            change_id=subject.change_id,
            action=action.value,
            error=type(exc).__name__,
        )

"""Calendar-feed use cases: rotate a customer's feed token (audited; the old URL stops at once)."""

from __future__ import annotations

from changecast.access.models import Actor, Role
from changecast.audit.models import AuditAction
from changecast.audit.ports import AuditSink
from changecast.audit.service import new_event
from changecast.delivery.feed_tokens import FeedTokens
from changecast.errors import PermissionDeniedError
from changecast.ports import Clock


def rotate_feed_token(
    *, tokens: FeedTokens, actor: Actor, customer_code: str, clock: Clock, audit: AuditSink | None
) -> str:
    """A new token for ``customer_code``'s feed; ChangeManagers and that customer's managers."""
    allowed = actor.role is Role.CHANGE_MANAGER or (
        actor.role is Role.CUSTOMER_MANAGER and customer_code in actor.customers
    )
    if not allowed:
        raise PermissionDeniedError(f"{actor.email} may not rotate {customer_code}'s feed token")
    token = tokens.rotate(customer_code, by=actor.email)
    if audit is not None:
        event = new_event(
            actor=actor,
            action=AuditAction.FEED_TOKEN_ROTATE,
            clock=clock,
            customers=[customer_code],
            detail={"customer": customer_code},
        )
        audit.record(event)
    return token

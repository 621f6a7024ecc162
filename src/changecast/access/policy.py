"""Pure permission rules, shared by the API, the pages and the CLI through the services."""

from __future__ import annotations

from collections.abc import Iterable

from changecast.access.models import Actor, Role
from changecast.changes.models import Action
from changecast.errors import PermissionDeniedError

WRITERS = frozenset({Role.CHANGE_MANAGER, Role.CUSTOMER_MANAGER})


def may_see_all_customers(actor: Actor) -> bool:
    """ChangeManagers, ReadOnly users and Auditors see every customer's changes."""
    return actor.role is not Role.CUSTOMER_MANAGER


def visible_customers(actor: Actor) -> frozenset[str] | None:
    """The customers whose changes ``actor`` may see; ``None`` means all."""
    return None if may_see_all_customers(actor) else actor.customers


def may_act_on(actor: Actor, action: Action, customer_codes: Iterable[str]) -> bool:
    """Whether ``actor`` may perform ``action`` on a change for these customers."""
    del action  # every writing action follows the same customer rule today
    if actor.role not in WRITERS:
        return False
    if actor.role is Role.CHANGE_MANAGER:
        return True
    codes = set(customer_codes)
    return codes <= actor.customers


def may_view(actor: Actor, customer_codes: Iterable[str]) -> bool:
    """Whether ``actor`` may read a change for these customers."""
    allowed = visible_customers(actor)
    codes = set(customer_codes)
    return allowed is None or not codes or bool(codes & allowed)


def require_action(actor: Actor, action: Action, customer_codes: Iterable[str]) -> None:
    """Raise ``PermissionDeniedError`` unless ``actor`` may perform ``action``."""
    codes = sorted(set(customer_codes))
    if actor.role not in WRITERS:
        raise PermissionDeniedError(
            f"role {actor.role.value} may not {action.value} changes", action=action.value
        )
    if not may_act_on(actor, action, codes):
        foreign = sorted(set(codes) - actor.customers)
        raise PermissionDeniedError(
            f"you may not {action.value} changes for customer(s) {', '.join(foreign)}",
            action=action.value,
        )


def require_view(actor: Actor, customer_codes: Iterable[str]) -> None:
    """Raise ``PermissionDeniedError`` unless ``actor`` may read the change."""
    if not may_view(actor, customer_codes):
        raise PermissionDeniedError("you may not view changes for these customers")


def require_not_own_approval(actor: Actor, created_by: str, *, allowed: bool) -> None:
    """Refuse approving a change you created, unless self-approval is allowed.

    Only the creator counts: a later editor may approve (the edit sent it back for approval).
    """
    if not allowed and actor.email.lower() == created_by.lower():
        raise PermissionDeniedError(
            "you created this change, so someone else must approve it", action="approve"
        )


def may_read_audit(actor: Actor) -> bool:
    """Auditors browse and export the audit trail; no other role sees it."""
    return actor.role is Role.AUDITOR


def require_audit_access(actor: Actor) -> None:
    if not may_read_audit(actor):
        raise PermissionDeniedError(
            f"role {actor.role.value} may not read the audit trail; Auditors may"
        )

"""Pure permission rules, shared by the API, the pages and the CLI through the services."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import Any, Protocol

from changecast.access.models import Actor, Role
from changecast.changes.models import Action, Change, ChangeQuery, ChangeStatus
from changecast.errors import PermissionDeniedError

WRITERS = frozenset({Role.CHANGE_MANAGER, Role.CUSTOMER_MANAGER})


class Visibility(StrEnum):
    """How much of one change an actor may see."""

    FULL = "full"
    """The whole document, its versions, previews and deliveries; actions if the role writes."""
    SUMMARY = "summary"
    """Title, status, schedule and the actor's own customers only; no action, nothing else."""
    NONE = "none"


class ChangeLike(Protocol):
    """What visibility depends on: a ``Change`` or a ``ChangeSummary`` alike."""

    @property
    def customer_codes(self) -> Sequence[str]: ...

    @property
    def status(self) -> ChangeStatus: ...

    @property
    def created_by(self) -> str: ...


def may_see_all_customers(actor: Actor) -> bool:
    """Roles not limited to assigned customers (ChangeManager, ReadOnly, Auditor)."""
    return actor.role is not Role.CUSTOMER_MANAGER


def is_creator(actor: Actor, change: ChangeLike) -> bool:
    return actor.email.strip().lower() == change.created_by.strip().lower()


def visibility(actor: Actor, change: ChangeLike) -> Visibility:
    """The one visibility rule; every route, page, list, export, preview and outbox uses it.

    - A change naming no customer (in practice a draft) belongs to its creator alone: nobody else
      reads, edits, takes over (a PUT naming customers), submits or deletes it, ChangeManagers
      included. Auditors may read it (they read everything), and write nothing.
    - Auditors see every change in full; ChangeManagers every change with customers.
    - ReadOnly users see submitted and later changes in full, and no draft.
    - A CustomerManager sees a change in full only if every customer on it is theirs. A change
      naming one of theirs and a foreign one is a ``SUMMARY`` (see ``change_summary``): no other
      customer's preview, recipients or deliveries, no full document, no version, no action.
      Lists, search, statistics and exports show only ``FULL`` changes (a summary row would let
      the customer filter and the full-text search over customer names tell which foreign
      customers a change names), so a summary is reached by its id alone (the email's link).
    """
    codes = set(change.customer_codes)
    if not codes:
        return (
            Visibility.FULL
            if is_creator(actor, change) or actor.role is Role.AUDITOR
            else (Visibility.NONE)
        )
    if actor.role in {Role.AUDITOR, Role.CHANGE_MANAGER}:
        return Visibility.FULL
    if actor.role is Role.READ_ONLY:
        return Visibility.NONE if change.status is ChangeStatus.DRAFT else Visibility.FULL
    if codes <= actor.customers:
        return Visibility.FULL
    return Visibility.SUMMARY if codes & actor.customers else Visibility.NONE


def require_visible(actor: Actor, change: ChangeLike, *, summary: bool = False) -> Visibility:
    """Raise ``PermissionDeniedError`` unless ``actor`` sees ``change`` in full.

    ``summary``: a summary is enough (the change's own page and ``GET /api/changes/{id}``).
    The message never names a customer the actor does not manage.
    """
    seen = visibility(actor, change)
    if seen is Visibility.FULL or (summary and seen is Visibility.SUMMARY):
        return seen
    if seen is Visibility.SUMMARY:
        raise PermissionDeniedError(
            "this change also names customers you do not manage; you may see its summary only"
        )
    if not change.customer_codes:
        raise PermissionDeniedError(
            "this draft names no customer yet; only its creator may open it"
        )
    if actor.role is Role.READ_ONLY:
        raise PermissionDeniedError("ReadOnly users see submitted changes, not drafts")
    raise PermissionDeniedError("you may not view changes for these customers")


def own_customers(actor: Actor, customer_codes: Iterable[str]) -> list[str]:
    """The codes of ``customer_codes`` the actor may see (in their order)."""
    codes = list(customer_codes)
    if may_see_all_customers(actor):
        return codes
    return [code for code in codes if code in actor.customers]


def change_summary(actor: Actor, change: Change) -> dict[str, Any]:
    """What a ``SUMMARY`` shows (camelCase, like documents): nothing about a foreign customer."""
    names = dict(zip(change.customer_codes, change.change_metadata.customer_names, strict=False))
    own = own_customers(actor, change.customer_codes)
    schedule = change.change_metadata.schedule
    return {
        "changeId": change.change_id,
        "version": change.version,
        "status": change.status.value,
        "title": change.title,
        "customerCodes": own,
        "customerNames": [names.get(code, code) for code in own],
        "createdAt": change.created_at.isoformat(),
        "modifiedAt": change.modified_at.isoformat(),
        "implementationStartUtc": schedule.start_utc.isoformat() if schedule else None,
        "implementationEndUtc": schedule.end_utc.isoformat() if schedule else None,
        "visibility": Visibility.SUMMARY.value,
    }


def scope_query(actor: Actor, query: ChangeQuery) -> ChangeQuery:
    """``query`` limited to the changes ``actor`` sees in full (lists, search, statistics)."""
    if actor.role is Role.AUDITOR:
        scope: dict[str, Any] = {"visible_customers": None, "customerless_by": None}
    else:
        scope = {
            "visible_customers": None if may_see_all_customers(actor) else actor.customers,
            "customerless_by": actor.email,
        }
    scope["include_drafts"] = actor.role is not Role.READ_ONLY
    return query.model_copy(update=scope)


def may_read_outbox(actor: Actor, customer: str) -> bool:
    """Local mode's outbox holds a customer's sent mail: CustomerManagers read only their own."""
    return may_see_all_customers(actor) or customer in actor.customers


def require_outbox(actor: Actor, customer: str) -> None:
    if not may_read_outbox(actor, customer):
        raise PermissionDeniedError("you may read the outbox of your own customers only")


def may_act_on(actor: Actor, action: Action, customer_codes: Iterable[str]) -> bool:
    """Whether ``actor`` may perform ``action`` for these customers (creating, or new codes)."""
    del action  # every writing action follows the same customer rule today
    if actor.role not in WRITERS:
        return False
    if actor.role is Role.CHANGE_MANAGER:
        return True
    codes = set(customer_codes)
    return codes <= actor.customers


def may_act(actor: Actor, action: Action, change: ChangeLike) -> bool:
    """Whether ``actor`` may ``action`` an existing change: a writer who sees it in full."""
    return visibility(actor, change) is Visibility.FULL and may_act_on(
        actor, action, change.customer_codes
    )


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


def require_change_action(
    actor: Actor, action: Action, change: ChangeLike, *, adding: Iterable[str] = ()
) -> None:
    """Raise unless ``actor`` may ``action`` ``change`` (seen in full), naming ``adding`` too.

    ``adding``: customers an edit would put on the change (a PUT naming customers on a
    customer-less draft is a takeover only its creator may make).
    """
    if actor.role not in WRITERS:
        raise PermissionDeniedError(
            f"role {actor.role.value} may not {action.value} changes", action=action.value
        )
    require_visible(actor, change)
    require_action(actor, action, [*change.customer_codes, *adding])


AUTHORING = frozenset({Action.CREATE, Action.SUBMIT, Action.EDIT})
"""History entries that put content into a version: its author may not approve it."""


def unapproved_authors(change: Change) -> dict[str, str]:
    """Who wrote what this approval would approve: lower-cased email → why they count.

    Four eyes: the change's creator, and everyone who created, submitted or edited a version since
    the last approval (an edit of version 2 that version 3 builds on is still unapproved), plus
    ``modified_by`` when no history entry names the author of the latest version (old documents).
    """
    authors = {change.created_by.lower(): "you created this change"}
    since = change.history
    approvals = [i for i, e in enumerate(since) if e.action is Action.APPROVE]
    if approvals:
        since = since[approvals[-1] + 1 :]
    wrote_latest = False
    for entry in since:
        if entry.action in AUTHORING:
            verb = {Action.CREATE: "created", Action.SUBMIT: "submitted"}.get(
                entry.action, "edited"
            )
            authors.setdefault(entry.by.lower(), f"you {verb} version {entry.version}")
            wrote_latest = wrote_latest or entry.version == change.version
    if not wrote_latest:
        authors.setdefault(change.modified_by.lower(), f"you wrote version {change.version}")
    return authors


def four_eyes_refusal(actor: Actor, change: Change, *, allowed: bool) -> str | None:
    """Why four eyes forbid ``actor`` to approve the latest version, or None if they may.

    ``allowed`` (``CHANGECAST_ALLOW_SELF_APPROVAL``, local mode only) relaxes the rule.
    """
    if allowed:
        return None
    why = unapproved_authors(change).get(actor.email.strip().lower())
    if why is None:
        return None
    return f"{why}, so someone else must approve version {change.version} (four eyes)"


def wrote_latest(actor: Actor, created_by: str, modified_by: str, *, allowed: bool) -> bool:
    """Whether four eyes certainly forbid ``actor`` to approve: a hint for lists.

    The creator or the latest author of a submitted change may not; the whole rule needs the
    history (``four_eyes_refusal``), which the service applies on every approval.
    """
    mine = actor.email.strip().lower()
    return not allowed and mine in {created_by.lower(), modified_by.lower()}


def require_not_own_approval(actor: Actor, change: Change, *, allowed: bool) -> None:
    """Four eyes: refuse an approval by anyone who wrote what it approves (see above)."""
    refusal = four_eyes_refusal(actor, change, allowed=allowed)
    if refusal is not None:
        raise PermissionDeniedError(refusal, action="approve", rule="four_eyes")


def may_read_audit(actor: Actor) -> bool:
    """Auditors browse and export the audit trail; no other role sees it."""
    return actor.role is Role.AUDITOR


def require_audit_access(actor: Actor) -> None:
    if not may_read_audit(actor):
        raise PermissionDeniedError(
            f"role {actor.role.value} may not read the audit trail; Auditors may"
        )

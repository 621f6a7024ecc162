"""Reading changes: one change, its versions, lists, searches and statistics.

Every function is keyword-only and takes the acting user, so one permission rule serves the API,
the pages and the CLI. Every action that changes a change is ``actions.pipeline.perform``.
"""

from __future__ import annotations

from changecast.access.models import Actor
from changecast.access.policy import (
    Visibility,
    require_visible,
    scope_query,
)
from changecast.actions.context import (
    ChangeDeps,
)
from changecast.changes.archive import Versioned
from changecast.changes.models import (
    Change,
    ChangePage,
    ChangeQuery,
    Statistics,
    VersionSummary,
)
from changecast.errors import ConflictError, NotFoundError
from changecast.ids import ChangeId


def latest_of(deps: ChangeDeps, change_id: ChangeId) -> Versioned:
    """The latest version with its etag; a draft not yet submitted is a ``ConflictError``."""
    try:
        return deps.archive.get_latest(change_id)
    except NotFoundError:
        try:
            deps.archive.get_draft(change_id)
        except NotFoundError:
            raise NotFoundError(f"change {change_id} not found", change_id=change_id) from None
        raise ConflictError(
            f"change {change_id} is a draft; submit it first", change_id=change_id
        ) from None


def get(*, deps: ChangeDeps, actor: Actor, change_id: ChangeId) -> Change:
    """The latest version of a change, or its draft, for an actor who sees it in full."""
    change, _ = look(deps=deps, actor=actor, change_id=change_id, summary=False)
    return change


def get_indexed(*, deps: ChangeDeps, actor: Actor, change_id: ChangeId) -> Change:
    """As ``get``, from the index's copy of the document: no S3 request (the polled grid).

    The index may lag S3 briefly after a failed index write (see ``IndexRepairs``).
    """
    change = deps.index.document(change_id)
    if change is None:
        raise NotFoundError(f"change {change_id} not found", change_id=change_id)
    require_visible(actor, change)
    return change


def look(
    *, deps: ChangeDeps, actor: Actor, change_id: ChangeId, summary: bool = True
) -> tuple[Change, Visibility]:
    """The change and how much of it ``actor`` sees (``summary``: a summary is enough)."""
    try:
        change = deps.archive.get_latest(change_id).change
    except NotFoundError:
        try:
            change = deps.archive.get_draft(change_id).change
        except NotFoundError:
            raise NotFoundError(f"change {change_id} not found", change_id=change_id) from None
    return change, require_visible(actor, change, summary=summary)


def get_version(
    *,
    deps: ChangeDeps,
    actor: Actor,
    change_id: ChangeId,
    version: int,
    latest: Change | None = None,
) -> Change:
    """One archived version, exactly as it was written.

    ``latest``: the latest version the caller already read (no second read of the pointer).
    """
    latest = latest or latest_of(deps, change_id).change
    require_visible(actor, latest)
    if not 1 <= version <= latest.version:
        raise NotFoundError(
            f"change {change_id} has versions 1 to {latest.version}, not {version}",
            change_id=change_id,
        )
    return deps.archive.get_version(change_id, latest.created_at, version)


def versions(
    *, deps: ChangeDeps, actor: Actor, change_id: ChangeId, latest: Change | None = None
) -> list[VersionSummary]:
    """Every archived version (from the index); ``latest``: the change the caller already read."""
    require_visible(actor, latest or get(deps=deps, actor=actor, change_id=change_id))
    return deps.index.versions(change_id)


def find(*, deps: ChangeDeps, actor: Actor, query: ChangeQuery) -> ChangePage:
    """List or search, limited to the changes ``actor`` sees in full (``access.policy``)."""
    return deps.index.find(scope_query(actor, query))


def my_changes(*, deps: ChangeDeps, actor: Actor, query: ChangeQuery) -> ChangePage:
    """The changes ``actor`` created."""
    return find(deps=deps, actor=actor, query=query.model_copy(update={"created_by": actor.email}))


def statistics(*, deps: ChangeDeps, actor: Actor, mine: bool = False) -> Statistics:
    scope = scope_query(actor, ChangeQuery())
    return deps.index.statistics(
        visible_customers=scope.visible_customers,
        now=deps.clock.now(),
        created_by=actor.email if mine else None,
        customerless_by=scope.customerless_by,
        include_drafts=scope.include_drafts,
    )

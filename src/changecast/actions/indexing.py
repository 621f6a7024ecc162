"""Index writes after S3 accepted an action: the index is derived, so a failure is a repair job.

An action writes S3 first (the system of record), then its triggers, then the audit event, then the
index. When the index write fails it is tried once more; if it still fails the failure is logged
(``index_write_failed``), counted (``IndexWriteFailed``), and the change is queued in
``ChangeDeps.index_repairs``: the next successful index write re-reads it from S3. ``changecast
index rebuild`` repairs every change from S3 in any case. The action itself still succeeds.
"""

from __future__ import annotations

from collections.abc import Callable

import structlog

from changecast.actions.context import ChangeDeps
from changecast.changes.models import Change
from changecast.errors import ChangecastError, NotFoundError
from changecast.ids import ChangeId
from changecast.metrics import names

log = structlog.get_logger()

ATTEMPTS = 2


def _safe_error(exc: BaseException) -> str:
    """What to log about a failure: our own messages are safe; for others only the type."""
    if isinstance(exc, ChangecastError):
        return f"{exc.kind}: {exc.message}"[:300]
    return type(exc).__name__


def _attempt(write: Callable[[], None]) -> BaseException | None:
    """Run ``write`` up to ``ATTEMPTS`` times; the last failure, or None once it worked."""
    failure: BaseException | None = None
    for _ in range(ATTEMPTS):
        try:
            write()
        except Exception as exc:  # any index failure: the S3 write it follows stands
            failure = exc
        else:
            return None
    return failure


def index_change(deps: ChangeDeps, change: Change, *, archived: bool, action: str) -> bool:
    """Upsert ``change`` into the index; never raise. True when the index is up to date."""
    failure = _attempt(lambda: deps.index.upsert(change, archived=archived))
    if failure is not None:
        _failed(deps, change.change_id, action=action, failure=failure)
        return False
    repair_pending(deps)
    return True


def unindex_change(deps: ChangeDeps, change_id: str, *, action: str) -> bool:
    """Remove a change from the index (a deleted draft); never raise."""
    failure = _attempt(lambda: deps.index.remove(change_id))
    if failure is not None:
        _failed(deps, change_id, action=action, failure=failure)
        return False
    repair_pending(deps)
    return True


def _failed(deps: ChangeDeps, change_id: str, *, action: str, failure: BaseException) -> None:
    deps.index_repairs.add(change_id)
    log.error(
        "index_write_failed",
        change_id=change_id,
        action=action,
        error=_safe_error(failure),
        attempts=ATTEMPTS,
        repair="queued; `changecast index rebuild` repairs it",
    )
    if deps.metrics is not None:
        try:
            deps.metrics.count(names.INDEX_WRITE_FAILED, action=action)
        except Exception as exc:  # a metrics problem must not fail the action either
            log.warning("metrics_failed", metric=names.INDEX_WRITE_FAILED, error=_safe_error(exc))


def repair_pending(deps: ChangeDeps) -> list[str]:
    """Write again, from S3, every change queued after a failed index write; the ones repaired."""
    repaired: list[str] = []
    for change_id in deps.index_repairs.pending():
        try:
            reindex_from_store(deps, ChangeId(change_id))
        except Exception as exc:  # still failing: stays queued for the next write or a rebuild
            log.warning("index_repair_failed", change_id=change_id, error=_safe_error(exc))
            break
        deps.index_repairs.discard(change_id)
        repaired.append(change_id)
        log.info("index_repaired", change_id=change_id)
    return repaired


def reindex_from_store(deps: ChangeDeps, change_id: ChangeId) -> None:
    """Make one change's index rows match S3: every archived version, then latest (or draft)."""
    try:
        latest = deps.archive.get_latest(change_id).change
    except NotFoundError:
        try:
            draft = deps.archive.get_draft(change_id).change
        except NotFoundError:
            deps.index.remove(change_id)
            return
        deps.index.upsert(draft, archived=False)
        return
    for version in range(1, latest.version):
        try:
            older = deps.archive.get_version(change_id, latest.created_at, version)
        except NotFoundError:
            continue
        deps.index.upsert(older, archived=True)
    deps.index.upsert(latest, archived=True)

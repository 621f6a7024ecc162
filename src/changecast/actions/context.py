"""What the change use cases need (their ports) and what an action returns."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict

from changecast.access.models import Actor
from changecast.actions.gates import Gate
from changecast.audit.ports import AuditSink
from changecast.changes.archive import ChangeArchive
from changecast.changes.models import Action, Change, ChangeInput, ChangeStatus, HistoryEntry
from changecast.changes.ports import ChangeIndex
from changecast.customers.directory import CustomerDirectory
from changecast.distribution.models import DistributionReport
from changecast.errors import FieldProblem, InvalidInputError
from changecast.metrics.ports import Metrics
from changecast.ports import Clock


class IndexRepairs:
    """Change ids whose index rows lag behind S3 after a failed index write (this process only).

    The next successful index write of any action re-reads them from S3 and writes them again;
    ``changecast index rebuild`` repairs them (and everything else) from any process.
    """

    def __init__(self) -> None:
        self._pending: set[str] = set()
        self._lock = threading.Lock()

    def add(self, change_id: str) -> None:
        with self._lock:
            self._pending.add(change_id)

    def discard(self, change_id: str) -> None:
        with self._lock:
            self._pending.discard(change_id)

    def pending(self) -> list[str]:
        with self._lock:
            return sorted(self._pending)


@dataclass(frozen=True)
class ChangeDeps:
    """The ports behind every change use case, wired by ``changecast.bootstrap``."""

    archive: ChangeArchive
    index: ChangeIndex
    directory: CustomerDirectory
    clock: Clock
    trigger_concurrency: int = 8
    audit: AuditSink | None = None
    """Receives one event per state-changing use case (after its S3 write succeeded)."""
    allow_self_approval: bool = False
    """Whether a version's authors may approve it.

    Relaxes four eyes; local mode only, off by default.
    """
    metrics: Metrics | None = None
    """Counts failed index writes (``IndexWriteFailed``), when wired."""
    index_repairs: IndexRepairs = field(default_factory=IndexRepairs)
    """Changes whose index write failed after S3 accepted the action; repaired on the next write."""
    gates: Sequence[Gate] = ()
    """Run for submit and approve (``actions.gates``); built by ``Runtime.gates`` in bootstrap."""


class ActionResult(BaseModel):
    """A change after an action, with each customer's trigger result (empty when none are due)."""

    model_config = ConfigDict(frozen=True)

    change: Change
    distribution: DistributionReport | None = None
    warnings: list[str] = []
    """What the person should know though nothing was refused (a window already over)."""


def now(deps: ChangeDeps) -> datetime:
    """The current instant at the precision documents store (whole seconds, UTC)."""
    return deps.clock.now().astimezone(UTC).replace(microsecond=0)


def history_entry(
    *,
    actor: Actor,
    action: Action,
    status: ChangeStatus,
    version: int,
    deps: ChangeDeps,
    comment: str | None = None,
) -> HistoryEntry:
    return HistoryEntry(
        action=action,
        status=status,
        version=version,
        at=now(deps),
        by=actor.email,
        comment=comment,
    )


def check_customers(codes: list[str], directory: CustomerDirectory) -> None:
    """Every customer code must be one we know (drafts included)."""
    unknown = directory.unknown(codes)
    if unknown:
        raise InvalidInputError(
            f"unknown customer code(s): {', '.join(unknown)}",
            details=[
                FieldProblem("changeMetadata.customerCodes", f"unknown customer {code!r}")
                for code in unknown
            ],
        )


def check_complete(change: Change) -> None:
    """A change going to customers needs customers and a schedule (an announcement: a summary)."""
    problems = []
    if not change.change_metadata.customer_codes:
        problems.append(
            FieldProblem("changeMetadata.customerCodes", "choose at least one customer")
        )
    if change.announcement is not None:
        if not (change.announcement.summary or change.announcement.body):
            problems.append(FieldProblem("announcement.summary", "write a summary or a body"))
    elif change.change_metadata.schedule is None:
        problems.append(
            FieldProblem("changeMetadata.schedule", "an implementation window is required")
        )
    if problems:
        raise InvalidInputError(
            "the change is not complete: " + "; ".join(f"{p.field}: {p.problem}" for p in problems),
            details=problems,
        )


def with_customer_names(data: ChangeInput, directory: CustomerDirectory) -> dict[str, object]:
    """The editable fields, with customerNames filled in from the directory."""
    codes = data.change_metadata.customer_codes
    metadata = data.change_metadata.model_copy(update={"customer_names": directory.names(codes)})
    return {
        "change_metadata": metadata,
        "email_notification": data.email_notification,
        "meeting_invite": data.meeting_invite,
        "kind": data.kind,
        "announcement": data.announcement,
    }

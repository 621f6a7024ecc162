"""What the change use cases need (their ports) and what an action returns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict

from changecast.access.models import Actor
from changecast.audit.ports import AuditSink
from changecast.changes.archive import ChangeArchive
from changecast.changes.models import Action, Change, ChangeInput, ChangeStatus, HistoryEntry
from changecast.changes.ports import ChangeIndex
from changecast.customers.directory import CustomerDirectory
from changecast.distribution.models import DistributionReport
from changecast.errors import FieldProblem, InvalidInputError
from changecast.ports import Clock


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
    """Whether a change's creator may approve it (settings: on in local mode only)."""


class ActionResult(BaseModel):
    """A change after an action, with each customer's trigger result (empty when none are due)."""

    model_config = ConfigDict(frozen=True)

    change: Change
    distribution: DistributionReport | None = None


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
    """A change going to customers needs customers and a schedule."""
    problems = []
    if not change.change_metadata.customer_codes:
        problems.append(
            FieldProblem("changeMetadata.customerCodes", "choose at least one customer")
        )
    if change.change_metadata.schedule is None:
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
    }

"""The port for the derived SQL index of changes (implemented in changecast.index)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from changecast.changes.models import (
    Change,
    ChangePage,
    ChangeQuery,
    ChangeSummary,
    Statistics,
    VersionSummary,
)
from changecast.delivery.models import ExecutionRecord


class ChangeIndex(Protocol):
    """Derived, rebuildable read model of the S3 archive. Every write is idempotent."""

    def upsert(self, change: Change, *, archived: bool) -> None:
        """Record ``change`` as the current state of its id (a draft when ``archived`` is False).

        When ``archived``, also record it as version ``change.version`` (replacing that version's
        row, which only ever differs in status and history).
        """
        ...

    def remove(self, change_id: str) -> None:
        """Forget a change entirely (a deleted draft)."""
        ...

    def summary(self, change_id: str) -> ChangeSummary | None:
        """The current summary of one change, or None."""
        ...

    def find(self, query: ChangeQuery) -> ChangePage:
        """List (``query.text`` empty, newest first) or search (ranked by relevance)."""
        ...

    def statistics(
        self,
        *,
        visible_customers: frozenset[str] | None,
        now: datetime,
        created_by: str | None,
        customerless_by: str | None = None,
        include_drafts: bool = True,
    ) -> Statistics:
        """Counts by status, and how many windows start in the next 14 days.

        The scope arguments mean what the ``ChangeQuery`` fields of the same names mean.
        """
        ...

    def versions(self, change_id: str) -> list[VersionSummary]:
        """Every archived version of a change, oldest first."""
        ...

    def record_execution(self, record: ExecutionRecord) -> None:
        """Store (or replace) one customer's delivery result for one version and event."""
        ...

    def executions(self, change_id: str) -> list[ExecutionRecord]:
        """Every delivery result of a change, by version, customer and event."""
        ...

    def clear(self) -> None:
        """Delete every row (the first step of a rebuild)."""
        ...

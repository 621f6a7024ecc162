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

    def document(self, change_id: str) -> Change | None:
        """The current document of one change (latest version or draft) as indexed, or None.

        For reads polled often (the delivery grid) that must not touch S3; S3 stays the record.
        """
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

    def version_document(self, change_id: str, version: int) -> Change | None:
        """One archived version's document as indexed, or None (not indexed, or no such version).

        Its content is the version's (versions are immutable); its status and history are those
        it was last indexed with. For pages that compare versions; S3's archive stays the record.
        """
        ...

    def clear(self) -> None:
        """Delete every row (the first step of a rebuild)."""
        ...

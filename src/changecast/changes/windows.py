"""The port for questions about implementation windows: which changes overlap, which to list.

Answered by the derived index (``changecast.index.windows``); both questions are range queries
on ``start_utc``/``end_utc`` narrowed by customer and status.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Protocol

from changecast.changes.models import Change, ChangeStatus, ChangeSummary

ACTIVE = frozenset({ChangeStatus.SUBMITTED, ChangeStatus.APPROVED})
"""The statuses whose windows count as taken: a conflict is with one of these."""


class WindowIndex(Protocol):
    """Window queries over the index of changes."""

    def overlapping(
        self,
        *,
        customers: Collection[str],
        start: datetime,
        end: datetime,
        statuses: Collection[ChangeStatus] = ACTIVE,
        exclude: str | None = None,
        limit: int = 50,
    ) -> list[ChangeSummary]:
        """Changes naming one of ``customers`` whose window overlaps ``[start, end)``.

        Soonest first; ``exclude`` leaves one change id out (the change being checked).
        """
        ...

    def windows_for(
        self, *, customer: str, statuses: Collection[ChangeStatus], ends_after: datetime
    ) -> list[Change]:
        """The current documents of ``customer``'s changes in ``statuses`` ending after a time."""
        ...

    def version_document(self, change_id: str, version: int) -> Change | None:
        """One archived version as the index holds it (None when it holds none)."""
        ...

"""A ChangeIndex that fails on demand, in front of a real one (the SQLite index in tests)."""

from __future__ import annotations

from datetime import datetime

from changecast.changes.models import (
    Change,
    ChangePage,
    ChangeQuery,
    ChangeSummary,
    Statistics,
    VersionSummary,
)
from changecast.changes.ports import ChangeIndex


class IndexDown(Exception):
    """What a failing database raises (an OperationalError, say): not a changecast error."""


class FlakyIndex:
    """Delegates to ``inner``; while ``down``, every write raises ``IndexDown`` (reads work).

    ``fail_next`` fails only that many more writes, then the index is back.
    """

    def __init__(self, inner: ChangeIndex) -> None:
        self.inner = inner
        self.down = False
        self.fail_next = 0
        self.failed_writes: list[str] = []
        self.reads_down = False
        """While set, ``version_document`` raises too (pages must fall back to S3)."""

    def _write(self, what: str) -> None:
        if self.down or self.fail_next > 0:
            self.fail_next = max(0, self.fail_next - 1)
            self.failed_writes.append(what)
            raise IndexDown(f"the index database is unavailable ({what})")

    def upsert(self, change: Change, *, archived: bool) -> None:
        self._write(f"upsert {change.change_id} v{change.version}")
        self.inner.upsert(change, archived=archived)

    def remove(self, change_id: str) -> None:
        self._write(f"remove {change_id}")
        self.inner.remove(change_id)

    def clear(self) -> None:
        self._write("clear")
        self.inner.clear()

    def summary(self, change_id: str) -> ChangeSummary | None:
        return self.inner.summary(change_id)

    def find(self, query: ChangeQuery) -> ChangePage:
        return self.inner.find(query)

    def statistics(
        self,
        *,
        visible_customers: frozenset[str] | None,
        now: datetime,
        created_by: str | None,
        customerless_by: str | None = None,
        include_drafts: bool = True,
    ) -> Statistics:
        return self.inner.statistics(
            visible_customers=visible_customers,
            now=now,
            created_by=created_by,
            customerless_by=customerless_by,
            include_drafts=include_drafts,
        )

    def versions(self, change_id: str) -> list[VersionSummary]:
        return self.inner.versions(change_id)

    def version_document(self, change_id: str, version: int) -> Change | None:
        if self.reads_down:
            raise IndexDown("the index database is unavailable (version_document)")
        return self.inner.version_document(change_id, version)

    def document(self, change_id: str) -> Change | None:
        return self.inner.document(change_id)

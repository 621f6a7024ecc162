"""Where audit events go (a sink) and where Auditors read them from (an index)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from changecast.audit.models import AuditEvent, AuditPage, AuditQuery


class AuditSink(Protocol):
    """Records one event; the change use cases call it after their write succeeded."""

    def record(self, event: AuditEvent) -> None: ...


class AuditIndex(Protocol):
    """The queryable copy of the trail (the S3 objects under ``audit/`` are the record)."""

    def add(self, event: AuditEvent) -> None:
        """Store one event; adding the same event id again changes nothing."""
        ...

    def find(self, query: AuditQuery) -> AuditPage: ...

    def iterate(self, query: AuditQuery) -> Iterator[AuditEvent]:
        """Every event matching ``query`` (its paging ignored), oldest first."""
        ...

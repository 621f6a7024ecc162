"""An AuditSink that keeps events in a list, for tests of the use cases that record them."""

from __future__ import annotations

from changecast.audit.models import AuditEvent


class ListAuditSink:
    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    def record(self, event: AuditEvent) -> None:
        self.events.append(event)

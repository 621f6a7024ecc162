"""Record audit events (S3 ``audit/`` first, then the index) and let Auditors read them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import structlog

from changecast import layout
from changecast.access.models import Actor
from changecast.access.policy import require_audit_access
from changecast.audit.models import AuditAction, AuditEvent, AuditPage, AuditQuery
from changecast.audit.ports import AuditIndex, AuditSink
from changecast.errors import ChangecastError
from changecast.ports import Clock, ObjectStore

log = structlog.get_logger()

_recorded: ContextVar[list[AuditEvent] | None] = ContextVar("audit_recorded", default=None)


def audit_key(event: AuditEvent) -> str:
    """``audit/YYYY/MM/DD/{timestamp}-{event id}.json``: one object per event, in time order."""
    return layout.audit_key(event.at, event.event_id)


def new_event(*, actor: Actor, action: AuditAction, clock: Clock, **fields: object) -> AuditEvent:
    """An event for ``actor`` now; ``fields`` are the other ``AuditEvent`` fields."""
    return AuditEvent.model_validate(
        {
            "event_id": str(uuid.uuid4()),
            "at": clock.now(),
            "actor": actor.email,
            "role": actor.role,
            "source_ip": actor.source_ip,
            "action": action,
            **fields,
        }
    )


@dataclass(frozen=True)
class AuditTrail:
    """The AuditSink of the portal, the CLI and the workers: append-only S3, then the index.

    A failed write is logged with the whole event (never raised): the action it records has
    already happened, and the document's own history names who did it.
    """

    store: ObjectStore
    index: AuditIndex | None = None

    def record(self, event: AuditEvent) -> None:
        collected = _recorded.get()
        if collected is not None:
            collected.append(event)
        body = event.model_dump_json().encode("utf-8")
        try:
            self.store.put(audit_key(event), body, if_none_match=True)
        except ChangecastError as exc:
            log.error(
                "audit_write_failed",
                target="s3",
                error=exc.message,
                audit_event=event.model_dump(mode="json"),
            )
        if self.index is None:
            return
        try:
            self.index.add(event)
        except Exception as exc:
            log.error("audit_write_failed", target="index", error=str(exc), event_id=event.event_id)


@contextmanager
def collecting() -> Iterator[list[AuditEvent]]:
    """Collect the events recorded while the block runs (the web layer's per-request check)."""
    events: list[AuditEvent] = []
    token = _recorded.set(events)
    try:
        yield events
    finally:
        _recorded.reset(token)


def browse(*, index: AuditIndex, actor: Actor, query: AuditQuery) -> AuditPage:
    """A page of the trail, newest first; Auditors only."""
    require_audit_access(actor)
    return index.find(query)


def export(
    *, index: AuditIndex, sink: AuditSink, clock: Clock, actor: Actor, query: AuditQuery, fmt: str
) -> Iterator[AuditEvent]:
    """Every matching event, oldest first; Auditors only. The export itself is recorded."""
    require_audit_access(actor)
    sink.record(
        new_event(
            actor=actor,
            action=AuditAction.AUDIT_EXPORT,
            clock=clock,
            detail={"format": fmt, **_query_detail(query)},
        )
    )
    return index.iterate(query)


def _query_detail(query: AuditQuery) -> dict[str, str]:
    fields = query.model_dump(mode="json", exclude={"page", "page_size"}, exclude_none=True)
    return {key: str(value) for key, value in fields.items()}


def rebuild_index(*, store: ObjectStore, index: AuditIndex) -> int:
    """Load every event under ``audit/`` into the index (idempotent); returns the count."""
    count = 0
    for key in store.list_keys(layout.AUDIT):
        index.add(AuditEvent.model_validate_json(store.get(key).body))
        count += 1
    return count

"""SqlAuditIndex: the AuditIndex port on SQLAlchemy Core (the queryable copy of ``audit/``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine, Select, func, select
from sqlalchemy.dialects import postgresql, sqlite

from changecast.audit.models import AuditEvent, AuditPage, AuditQuery
from changecast.index.access_tables import audit_events

EXPORT_BATCH = 1_000


class SqlAuditIndex:
    """Audit events in the index database; each method is one transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, event: AuditEvent) -> None:
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        insert: Any = dialect.insert(audit_events).values(
            event_id=event.event_id,
            at=event.at,
            actor=event.actor,
            role=event.role.value,
            source_ip=event.source_ip,
            action=event.action.value,
            change_id=event.change_id,
            version=event.version,
            document=event.model_dump(mode="json"),
        )
        with self.engine.begin() as conn:
            conn.execute(insert.on_conflict_do_nothing(index_elements=["event_id"]))

    def find(self, query: AuditQuery) -> AuditPage:
        filtered = _filtered(select(audit_events.c.document), query)
        counted = _filtered(select(func.count()).select_from(audit_events), query)
        page = (
            filtered.order_by(audit_events.c.at.desc(), audit_events.c.event_id.desc())
            .limit(query.page_size)
            .offset((query.page - 1) * query.page_size)
        )
        with self.engine.connect() as conn:
            total = int(conn.execute(counted).scalar_one())
            rows = conn.execute(page).scalars().all()
        items = [AuditEvent.model_validate(row) for row in rows]
        return AuditPage(items=items, total=total, page=query.page, page_size=query.page_size)

    def iterate(self, query: AuditQuery) -> Iterator[AuditEvent]:
        """Oldest first, read in keyset batches so an export never holds the whole trail."""
        after: tuple[Any, str] | None = None
        while True:
            statement = _filtered(
                select(audit_events.c.at, audit_events.c.event_id, audit_events.c.document), query
            )
            if after is not None:
                statement = statement.where(
                    (audit_events.c.at > after[0])
                    | ((audit_events.c.at == after[0]) & (audit_events.c.event_id > after[1]))
                )
            statement = statement.order_by(audit_events.c.at, audit_events.c.event_id)
            with self.engine.connect() as conn:
                rows = conn.execute(statement.limit(EXPORT_BATCH)).all()
            for row in rows:
                yield AuditEvent.model_validate(row.document)
            if len(rows) < EXPORT_BATCH:
                return
            after = (rows[-1].at, rows[-1].event_id)


def _filtered(statement: Select[Any], query: AuditQuery) -> Select[Any]:
    table = audit_events.c
    if query.starts_from is not None:
        statement = statement.where(table.at >= query.starts_from)
    if query.ends_before is not None:
        statement = statement.where(table.at < query.ends_before)
    if query.actor:
        statement = statement.where(table.actor == query.actor.strip().lower())
    if query.change_id:
        statement = statement.where(table.change_id == query.change_id)
    if query.action is not None:
        statement = statement.where(table.action == query.action.value)
    return statement

"""The SQL tables of the change index (SQLAlchemy Core); the migrations own the DDL.

Full text: FTS5 ``change_fts`` (SQLite) or ``change_search`` (PostgreSQL), kept by triggers.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in Python; ``timestamptz`` on PostgreSQL, sortable UTC text on SQLite."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        del dialect
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Document: Any = JSON().with_variant(JSONB(), "postgresql")

metadata = MetaData()

changes = Table(
    "changes",
    metadata,
    Column("row_id", Integer, primary_key=True, autoincrement=True),
    Column("change_id", String(36), nullable=False),
    Column("version", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("title", Text, nullable=False),
    Column("customer_codes", Document, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("modified_by", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("modified_at", UtcDateTime, nullable=False),
    Column("start_utc", UtcDateTime),
    Column("end_utc", UtcDateTime),
    Column("timezone", String(64)),
    UniqueConstraint("change_id", name="uq_changes_change_id"),
    Index("ix_changes_modified", "modified_at", "change_id"),
    Index("ix_changes_status_modified", "status", "modified_at", "change_id"),
    Index("ix_changes_created_by_modified", "created_by", "modified_at"),
    Index("ix_changes_status_start", "status", "start_utc"),
    Index("ix_changes_start", "start_utc"),
)
"""The current state of each change, kept narrow so that scans and joins stay in cache."""

change_documents = Table(
    "change_documents",
    metadata,
    Column(
        "change_id", String(36), ForeignKey("changes.change_id"), primary_key=True, nullable=False
    ),
    Column("search_title", Text, nullable=False),
    Column("search_keywords", Text, nullable=False),
    Column("search_body", Text, nullable=False),
    Column("document", Document, nullable=False),
)
"""The full current document of each change, and the normalised text that full-text indexes."""

change_search = Table(
    "change_search",
    metadata,
    Column("row_id", Integer, ForeignKey("changes.row_id"), primary_key=True),
    Column("search_vector", TSVECTOR, nullable=False),
)
"""PostgreSQL only: the weighted tsvector of each change (trigger-maintained, GIN-indexed)."""

change_customers = Table(
    "change_customers",
    metadata,
    Column(
        "change_id", String(36), ForeignKey("changes.change_id"), primary_key=True, nullable=False
    ),
    Column("customer_code", String(32), primary_key=True, nullable=False),
    Column("row_id", Integer, nullable=False),  # changes.row_id, so filters skip a lookup
    Index("ix_change_customers_customer", "customer_code", "row_id"),
)

change_versions = Table(
    "change_versions",
    metadata,
    Column(
        "change_id", String(36), ForeignKey("changes.change_id"), primary_key=True, nullable=False
    ),
    Column("version", Integer, primary_key=True, nullable=False),
    Column("status", String(16), nullable=False),
    Column("title", Text, nullable=False),
    Column("modified_by", String(200), nullable=False),
    Column("modified_at", UtcDateTime, nullable=False),
    Column("document", Document, nullable=False),
)

change_executions = Table(
    "change_executions",
    metadata,
    Column("change_id", String(36), primary_key=True, nullable=False),
    Column("version", Integer, primary_key=True, nullable=False),
    Column("customer_code", String(32), primary_key=True, nullable=False),
    Column("event", String(16), primary_key=True, nullable=False),
    Column("status", String(16), nullable=False),
    Column("recipients", Integer, nullable=False),
    Column("sent", Integer, nullable=False),
    Column("already_sent", Integer, nullable=False),
    Column("filtered", Integer, nullable=False),
    Column("failed", Integer, nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime, nullable=False),
    Column("record", Document, nullable=False),
)

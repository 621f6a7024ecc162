"""The SQL tables of the change index (SQLAlchemy Core); the migrations own the DDL.

Full text: FTS5 ``change_fts`` (SQLite) or ``change_search`` (PostgreSQL), kept by triggers.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
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
    Column("kind", String(16), nullable=False, server_default="change"),  # 0010
    Column("announcement_kind", String(16)),  # 0010: cic | finops | inner | general
    UniqueConstraint("change_id", name="uq_changes_change_id"),
    Index("ix_changes_modified", "modified_at", "change_id"),
    Index("ix_changes_status_modified", "status", "modified_at", "change_id"),
    Index("ix_changes_created_by_modified", "created_by", "modified_at"),
    Index("ix_changes_status_start", "status", "start_utc"),
    Index("ix_changes_status_end", "status", "end_utc"),  # 0007: the scheduler's scan
    Index("ix_changes_start", "start_utc"),
    Index("ix_changes_kind_modified", "kind", "modified_at", "change_id"),  # 0010
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
    Column("modified_at", UtcDateTime, nullable=False),  # 0011: = changes.modified_at
    Column("change_id", String(36), nullable=False),  # 0011: = changes.change_id
    Column("status", String(16), nullable=False),  # 0011: = changes.status
    Index("ix_change_search_newest", "modified_at", "change_id"),  # 0011
    Index("ix_change_search_status_newest", "status", "modified_at", "change_id"),  # 0011
)
"""PostgreSQL only: the weighted tsvector of each change (trigger-maintained, GIN-indexed), with
its recency (0011), so that the newest matches are found in this one table."""

change_customers = Table(
    "change_customers",
    metadata,
    Column(
        "change_id", String(36), ForeignKey("changes.change_id"), primary_key=True, nullable=False
    ),
    Column("customer_code", String(32), primary_key=True, nullable=False),
    Column("row_id", Integer, nullable=False),  # changes.row_id, so filters skip a lookup
    Column("customer_count", Integer, nullable=False),  # customers the change names (visibility)
    Index("ix_change_customers_visible", "customer_code", "row_id", "customer_count"),
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

delivery_records = Table(
    "delivery_records",
    metadata,
    Column("change_id", String(36), primary_key=True, nullable=False),
    Column("version", Integer, primary_key=True, nullable=False),
    Column("event", String(16), primary_key=True, nullable=False),
    Column("customer_code", String(32), primary_key=True, nullable=False),
    Column("status", String(16)),  # NULL: outcomes counted before the worker's record
    Column("recipients", Integer, nullable=False, default=0),
    Column("sent", Integer, nullable=False, default=0),
    Column("already_sent", Integer, nullable=False, default=0),
    Column("filtered", Integer, nullable=False, default=0),
    Column("failed", Integer, nullable=False, default=0),
    Column("delivered", Integer, nullable=False, default=0),
    Column("bounced", Integer, nullable=False, default=0),
    Column("complained", Integer, nullable=False, default=0),
    Column("reason", Text),
    Column("failures", Document, nullable=False),
    Column("dead_lettered", Boolean, nullable=False, default=False),
    Column("started_at", UtcDateTime),
    Column("finished_at", UtcDateTime),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_delivery_records_customer_updated", "customer_code", "updated_at"),
)
"""The delivery read model (``delivery.ports.DeliveryReadModel``): one row per delivery."""

delivery_outcomes = Table(
    "delivery_outcomes",
    metadata,
    Column("change_id", String(36), primary_key=True, nullable=False),
    Column("version", Integer, primary_key=True, nullable=False),
    Column("event", String(16), primary_key=True, nullable=False),
    Column("customer_code", String(32), primary_key=True, nullable=False),
    Column("channel", String(16), primary_key=True, nullable=False),
    Column("recipient", String(512), primary_key=True, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("outcome_key", Text, nullable=False),
)
"""Each recipient's kept SES outcome mark (the greatest ``precedence_key``); the read model
counts ``delivery_records``' delivered, bounced and complained from it."""

scheduled_triggers = Table(
    "scheduled_triggers",
    metadata,
    Column("change_id", String(36), primary_key=True, nullable=False),
    Column("version", Integer, primary_key=True, nullable=False),
    Column("event", String(16), primary_key=True, nullable=False),
    Column("customer_code", String(32), primary_key=True, nullable=False),
    Column("written_at", UtcDateTime, nullable=False),
    Index("ix_scheduled_triggers_written", "written_at"),
)
"""0007: the scheduler's memory of the triggers it wrote, so a later tick does not PUT them
again. Only a saving: the trigger's If-None-Match and the ledger keep a notice single."""

survey_answers = Table(
    "survey_answers",
    metadata,
    Column("change_id", String(36), primary_key=True, nullable=False),
    Column("customer_code", String(32), primary_key=True, nullable=False),
    Column("recipient_hash", String(32), primary_key=True, nullable=False),
    Column("rating", Integer, nullable=False),
    Column("comment", Text, nullable=False),
    Column("answered_at", UtcDateTime, nullable=False),
    Index("ix_survey_answers_customer_answered", "customer_code", "answered_at"),
)
"""0010 (H-17): post-change survey answers, derived from ``surveys/`` in S3."""

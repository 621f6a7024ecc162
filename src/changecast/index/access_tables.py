"""SQL tables of identity and access (SQLAlchemy Core); migrations ``0002``/``0003`` own the DDL."""

from __future__ import annotations

from sqlalchemy import Column, Integer, MetaData, String, Table

from changecast.index.tables import Document, UtcDateTime

metadata = MetaData()

audit_events = Table(
    "audit_events",
    metadata,
    Column("event_id", String(36), primary_key=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("role", String(32), nullable=False),
    Column("source_ip", String(100)),
    Column("action", String(32), nullable=False),
    Column("change_id", String(36)),
    Column("version", Integer),
    Column("document", Document, nullable=False),
)
"""The queryable copy of ``audit/`` in S3 (append-only there; rebuilt from it if lost)."""

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("token_id", String(36), primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("name", String(100), nullable=False),
    Column("email", String(200), nullable=False),
    Column("display_name", String(200), nullable=False),
    Column("role", String(32), nullable=False),
    Column("customers", Document, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime),
    Column("last_used_at", UtcDateTime),
    Column("revoked_at", UtcDateTime),
)
"""API tokens: only the SHA-256 of each secret is kept."""

known_users = Table(
    "known_users",
    metadata,
    Column("email", String(200), primary_key=True),
    Column("display_name", String(200), nullable=False),
    Column("role", String(32), nullable=False),
    Column("customers", Document, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("updated_by", String(200), nullable=False),
    Column("disabled_at", UtcDateTime),
)
"""Each user's current grant (migration ``0003_known_users``): what their API tokens act with."""

saml_assertions = Table(
    "saml_assertions",
    metadata,
    Column("assertion_id", String(256), primary_key=True),
    Column("not_on_or_after", UtcDateTime, nullable=False),
    Column("seen_at", UtcDateTime, nullable=False),
)
"""The replay cache: assertion ids seen, until they expire."""

saml_requests = Table(
    "saml_requests",
    metadata,
    Column("relay_key", String(64), primary_key=True),
    Column("request_id", String(256), nullable=False),
    Column("next_path", String(500), nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
)
"""SP-initiated sign-ins in flight, keyed by the RelayState the IdP posts back."""

ended_sessions = Table(
    "ended_sessions",
    metadata,
    Column("session_id", String(64), primary_key=True),
    Column("expires_at", UtcDateTime, nullable=False),
)
"""Sessions ended by sign-out, kept until their cookie would have expired anyway."""

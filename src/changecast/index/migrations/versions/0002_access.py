"""Identity and access: the audit trail, API tokens, SAML replay cache and pending sign-ins.

Revision ID: 0002_access
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002_access"
down_revision = "0001"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("at", _TS, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("source_ip", sa.String(100)),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("change_id", sa.String(36)),
        sa.Column("version", sa.Integer),
        sa.Column("document", _JSON, nullable=False),
    )
    op.create_index("ix_audit_events_at", "audit_events", ["at", "event_id"])
    op.create_index("ix_audit_events_actor_at", "audit_events", ["actor", "at"])
    op.create_index("ix_audit_events_change_at", "audit_events", ["change_id", "at"])
    op.create_index("ix_audit_events_action_at", "audit_events", ["action", "at"])
    op.create_table(
        "api_tokens",
        sa.Column("token_id", sa.String(36), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("email", sa.String(200), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("customers", _JSON, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("expires_at", _TS),
        sa.Column("last_used_at", _TS),
        sa.Column("revoked_at", _TS),
        sa.UniqueConstraint("token_hash", name="uq_api_tokens_hash"),
    )
    op.create_index("ix_api_tokens_email", "api_tokens", ["email", "created_at"])
    op.create_table(
        "saml_assertions",
        sa.Column("assertion_id", sa.String(256), primary_key=True),
        sa.Column("not_on_or_after", _TS, nullable=False),
        sa.Column("seen_at", _TS, nullable=False),
    )
    op.create_index("ix_saml_assertions_expiry", "saml_assertions", ["not_on_or_after"])
    op.create_table(
        "saml_requests",
        sa.Column("relay_key", sa.String(64), primary_key=True),
        sa.Column("request_id", sa.String(256), nullable=False),
        sa.Column("next_path", sa.String(500), nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
    )
    op.create_index("ix_saml_requests_expiry", "saml_requests", ["expires_at"])
    op.create_table(
        "ended_sessions",
        sa.Column("session_id", sa.String(64), primary_key=True),
        sa.Column("expires_at", _TS, nullable=False),
    )
    op.create_index("ix_ended_sessions_expiry", "ended_sessions", ["expires_at"])


def downgrade() -> None:
    for table in ("ended_sessions", "saml_requests", "saml_assertions", "api_tokens"):
        op.drop_table(table)
    op.drop_table("audit_events")

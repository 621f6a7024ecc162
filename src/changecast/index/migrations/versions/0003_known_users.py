"""Known users: each person's current role and customers, which their API tokens act with.

Existing ``api_tokens`` rows are kept as they are: their stored role and customers become the
token's ceiling (they may narrow what the owner's current grant allows, never widen it). A token
whose owner has not signed in since this migration answers 401 until they do.

Revision ID: 0003_known_users
Revises: 0002_access
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003_known_users"
down_revision = "0002_access"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "known_users",
        sa.Column("email", sa.String(200), primary_key=True),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("customers", _JSON, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.Column("disabled_at", _TS),
    )


def downgrade() -> None:
    op.drop_table("known_users")

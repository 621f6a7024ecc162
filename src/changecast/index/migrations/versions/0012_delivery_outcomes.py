"""Each recipient's kept SES outcome, from which the delivery read model counts its outcomes.

``delivery_outcomes``: one row per (change, version, event, customer, channel, recipient) with
the greatest outcome mark the SES events worker has seen (``outcome_key`` is the mark's
precedence key). Empty at first: the counts already in ``delivery_records`` stay until the
next event of their delivery recounts them.

Revision ID: 0012_delivery_outcomes
Revises: 0011_search_order
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_delivery_outcomes"
down_revision = "0011_search_order"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "delivery_outcomes",
        sa.Column("change_id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("customer_code", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("recipient", sa.String(512), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("outcome_key", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint(
            "change_id", "version", "event", "customer_code", "channel", "recipient"
        ),
    )


def downgrade() -> None:
    op.drop_table("delivery_outcomes")

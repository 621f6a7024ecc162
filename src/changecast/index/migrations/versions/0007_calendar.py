"""scheduler and calendar (owner: H-16a): the scheduler's scans and its memory of triggers.

The tick reads approved changes whose window starts (``ix_changes_status_start``, since 0001)
or ends (``ix_changes_status_end``, here) in a few hours' range: two range scans. The
``scheduled_triggers`` table remembers which scheduled triggers were written (derived and
disposable: a lost row costs one conditional PUT that S3 refuses), pruned after 30 days.

Revision ID: 0007_calendar
Revises: 0006_search_scale
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_calendar"
down_revision = "0006_search_scale"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_changes_status_end", "changes", ["status", "end_utc"])
    op.create_table(
        "scheduled_triggers",
        sa.Column("change_id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("customer_code", sa.String(32), nullable=False),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("change_id", "version", "event", "customer_code"),
    )
    op.create_index("ix_scheduled_triggers_written", "scheduled_triggers", ["written_at"])


def downgrade() -> None:
    op.drop_index("ix_scheduled_triggers_written", table_name="scheduled_triggers")
    op.drop_table("scheduled_triggers")
    op.drop_index("ix_changes_status_end", table_name="changes")

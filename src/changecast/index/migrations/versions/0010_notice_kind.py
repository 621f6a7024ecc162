"""Notice kinds and surveys (owner: H-17): changes and announcements share the index.

``changes.kind`` (``change`` for every existing row) and ``changes.announcement_kind`` (cic,
finops, inner, general; NULL for a change), and an index for lists of one kind, newest first.
``survey_answers``: post-change survey answers, derived from ``surveys/`` in S3.

Revision ID: 0010_notice_kind
Revises: 0007_calendar
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_notice_kind"
down_revision = "0007_calendar"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "changes", sa.Column("kind", sa.String(16), nullable=False, server_default="change")
    )
    op.add_column("changes", sa.Column("announcement_kind", sa.String(16)))
    op.create_index("ix_changes_kind_modified", "changes", ["kind", "modified_at", "change_id"])
    op.create_table(
        "survey_answers",
        sa.Column("change_id", sa.String(36), nullable=False),
        sa.Column("customer_code", sa.String(32), nullable=False),
        sa.Column("recipient_hash", sa.String(32), nullable=False),
        sa.Column("rating", sa.Integer, nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("change_id", "customer_code", "recipient_hash"),
    )
    op.create_index(
        "ix_survey_answers_customer_answered", "survey_answers", ["customer_code", "answered_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_survey_answers_customer_answered", table_name="survey_answers")
    op.drop_table("survey_answers")
    op.drop_index("ix_changes_kind_modified", table_name="changes")
    with op.batch_alter_table("changes") as batch:
        batch.drop_column("announcement_kind")
        batch.drop_column("kind")

"""Search upkeep: the visibility filter's customerless rows, and statistics from the start.

Both: a partial index of the changes that name no customer (``customer_codes = '[]'``), which
the visibility filter unions with the rows of the visible customers instead of scanning every
change. PostgreSQL: the GIN pending list built so far is merged and statistics are gathered (the
scheduled ``changecast index optimize`` keeps doing both: see docs/runbooks/index-upkeep.md).

Revision ID: 0004_search_upkeep
Revises: 0003_known_users
"""

from __future__ import annotations

from alembic import op

revision = "0004_search_upkeep"
down_revision = "0003_known_users"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX ix_changes_customerless ON changes (row_id) WHERE customer_codes = '[]'"
    )
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("SELECT gin_clean_pending_list('ix_change_search_vector'::regclass)")
    op.execute("ANALYZE changes, change_search, change_customers")


def downgrade() -> None:
    op.execute("DROP INDEX ix_changes_customerless")

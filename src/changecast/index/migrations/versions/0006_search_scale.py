"""Search at scale: the visibility filter answered from one index of ``change_customers``.

Each customer row carries how many customers its change names (``customer_count``), so "every
customer of the change is visible" is ``GROUP BY row_id HAVING count(*) = customer_count`` over
the visible customers' entries of ``ix_change_customers_visible`` (a covering index), instead of
a per-change ``NOT EXISTS`` probe. It replaces ``ix_change_customers_customer`` (same prefix).

Revision ID: 0006_search_scale
Revises: 0005_delivery_read_model
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_search_scale"
down_revision = "0005_delivery_read_model"
branch_labels = None
depends_on = None

_COUNT = (
    "UPDATE change_customers SET customer_count = (SELECT count(*) FROM change_customers AS same"
    " WHERE same.change_id = change_customers.change_id)"
)


def upgrade() -> None:
    column = sa.Column("customer_count", sa.Integer, nullable=False, server_default="1")
    op.add_column("change_customers", column)
    op.execute(_COUNT)
    op.create_index(
        "ix_change_customers_visible",
        "change_customers",
        ["customer_code", "row_id", "customer_count"],
    )
    op.drop_index("ix_change_customers_customer", table_name="change_customers")


def downgrade() -> None:
    op.create_index("ix_change_customers_customer", "change_customers", ["customer_code", "row_id"])
    op.drop_index("ix_change_customers_visible", table_name="change_customers")
    with op.batch_alter_table("change_customers") as batch:
        batch.drop_column("customer_count")

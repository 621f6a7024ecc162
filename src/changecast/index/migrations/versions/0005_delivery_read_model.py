"""The delivery read model: ``delivery_records`` replaces ``change_executions`` (owner: H-read).

One row per (change, version, event, customer) with the run's counts and the SES outcome counts.
The rows of ``change_executions`` are copied over (their outcome counts start at 0).

Revision ID: 0005_delivery_read_model
Revises: 0004_search_upkeep
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005_delivery_read_model"
down_revision = "0004_search_upkeep"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_TS = sa.DateTime(timezone=True)
_RUN_COUNTS = ("recipients", "sent", "already_sent", "filtered", "failed")
_OUTCOMES = ("delivered", "bounced", "complained")


def _reason(record: dict[str, Any], status: str) -> str | None:
    """As ``delivery.models.failure_reason`` (a migration does not import the application)."""
    failures = record.get("failures") or []
    reasons = [str(f.get("reason", "")) for f in failures if f.get("recipient") is None]
    if not reasons and status != "delivered":
        reasons = [str(f.get("reason", "")) for f in failures[:1]]
    return "; ".join(reasons)[:2_000] or None


_COLUMNS = (
    "change_id", "version", "event", "customer_code", "status", *_RUN_COUNTS, *_OUTCOMES,
    "reason", "failures", "dead_lettered", "started_at", "finished_at", "updated_at",
)  # fmt: skip


def _copy_executions() -> None:
    """Copy every old row with plain SQL (its timestamps pass through as the driver gives them)."""
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT * FROM change_executions")).mappings().all()
    copied = []
    for row in rows:
        record = row["record"]
        if isinstance(record, str):
            record = json.loads(record)
        copied.append(
            {
                **{name: row[name] for name in ("change_id", "version", "event", "customer_code")},
                "status": row["status"],
                **{name: row[name] for name in _RUN_COUNTS},
                **dict.fromkeys(_OUTCOMES, 0),
                "reason": _reason(record, row["status"]),
                "failures": json.dumps(record.get("failures") or []),
                "dead_lettered": bool(record.get("deadLettered", False)),
                "started_at": row["started_at"],
                "finished_at": row["finished_at"],
                "updated_at": row["finished_at"],
            }
        )
    if not copied:
        return
    cast = "CAST(:failures AS jsonb)" if bind.dialect.name == "postgresql" else ":failures"
    values = ", ".join(cast if name == "failures" else f":{name}" for name in _COLUMNS)
    insert = f"INSERT INTO delivery_records ({', '.join(_COLUMNS)}) VALUES ({values})"
    bind.execute(sa.text(insert), copied)


def upgrade() -> None:
    op.create_table(
        "delivery_records",
        sa.Column("change_id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("customer_code", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16)),
        *(
            sa.Column(name, sa.Integer, nullable=False, server_default="0")
            for name in (*_RUN_COUNTS, *_OUTCOMES)
        ),
        sa.Column("reason", sa.Text),
        sa.Column("failures", _JSON, nullable=False),
        sa.Column("dead_lettered", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("started_at", _TS),
        sa.Column("finished_at", _TS),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("change_id", "version", "event", "customer_code"),
    )
    op.create_index(
        "ix_delivery_records_customer_updated", "delivery_records", ["customer_code", "updated_at"]
    )
    _copy_executions()
    op.drop_table("change_executions")


def downgrade() -> None:
    op.create_table(
        "change_executions",
        sa.Column("change_id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("customer_code", sa.String(32), nullable=False),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        *(sa.Column(name, sa.Integer, nullable=False) for name in _RUN_COUNTS),
        sa.Column("started_at", _TS, nullable=False),
        sa.Column("finished_at", _TS, nullable=False),
        sa.Column("record", _JSON, nullable=False),
        sa.PrimaryKeyConstraint("change_id", "version", "customer_code", "event"),
    )
    op.drop_index("ix_delivery_records_customer_updated", table_name="delivery_records")
    op.drop_table("delivery_records")  # derived: `changecast index rebuild` refills the old table

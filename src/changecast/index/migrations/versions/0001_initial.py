"""The change index: current changes, documents, customers, versions, executions, full-text search.

Revision ID: 0001
Revises: -
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_TS = sa.DateTime(timezone=True)

_FTS_ROW = "(SELECT row_id FROM changes WHERE change_id = {row}.change_id)"
_FTS_COLUMNS = "search_title, search_keywords, search_body"
_FTS_INSERT = (
    f"INSERT INTO change_fts(rowid, {_FTS_COLUMNS}) VALUES ({_FTS_ROW.format(row='new')}, "
    "new.search_title, new.search_keywords, new.search_body);"
)
_FTS_DELETE = (
    f"INSERT INTO change_fts(change_fts, rowid, {_FTS_COLUMNS}) VALUES ('delete', "
    f"{_FTS_ROW.format(row='old')}, old.search_title, old.search_keywords, old.search_body);"
)

# SQLite: an external-content FTS5 table over a view that gives each document its change's
# row_id; triggers on change_documents keep it in step, inside the writing transaction.
_FTS5 = [
    f"""CREATE VIEW change_fts_content AS
        SELECT c.row_id AS row_id, {_FTS_COLUMNS.replace("search_", "d.search_")}
        FROM changes c JOIN change_documents d ON d.change_id = c.change_id""",
    f"""CREATE VIRTUAL TABLE change_fts USING fts5(
        {_FTS_COLUMNS}, content='change_fts_content', content_rowid='row_id',
        tokenize='unicode61 remove_diacritics 2', prefix='2 3')""",
    "INSERT INTO change_fts(change_fts, rank) VALUES ('rank', 'bm25(10.0, 4.0, 1.0)')",
    f"CREATE TRIGGER change_fts_insert AFTER INSERT ON change_documents BEGIN {_FTS_INSERT} END",
    f"CREATE TRIGGER change_fts_delete AFTER DELETE ON change_documents BEGIN {_FTS_DELETE} END",
    f"""CREATE TRIGGER change_fts_update AFTER UPDATE ON change_documents
    WHEN old.search_title IS NOT new.search_title
      OR old.search_keywords IS NOT new.search_keywords
      OR old.search_body IS NOT new.search_body
    BEGIN {_FTS_DELETE} {_FTS_INSERT} END""",
]

# PostgreSQL: a weighted tsvector per change (title A, ids and names B, plans C) in its own narrow
# table with a GIN index, kept in step with change_documents by a trigger in the same transaction.
# A bulk load sets changecast.bulk_load and fills change_search itself, set-based.
_TSVECTOR = [
    """CREATE TABLE change_search (
        row_id integer PRIMARY KEY REFERENCES changes (row_id),
        search_vector tsvector NOT NULL)""",
    "CREATE INDEX ix_change_search_vector ON change_search USING gin (search_vector)",
    """CREATE FUNCTION change_search_vector(title text, keywords text, body text)
    RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT setweight(to_tsvector('simple'::regconfig, title), 'A')
            || setweight(to_tsvector('simple'::regconfig, keywords), 'B')
            || setweight(to_tsvector('simple'::regconfig, body), 'C')
    $$""",
    """CREATE FUNCTION change_search_sync() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' THEN
            DELETE FROM change_search
            WHERE row_id = (SELECT row_id FROM changes WHERE change_id = OLD.change_id);
            RETURN OLD;
        END IF;
        IF current_setting('changecast.bulk_load', true) = 'on' THEN
            RETURN NEW;
        END IF;
        INSERT INTO change_search (row_id, search_vector)
        SELECT row_id, change_search_vector(NEW.search_title, NEW.search_keywords, NEW.search_body)
        FROM changes WHERE change_id = NEW.change_id
        ON CONFLICT (row_id) DO UPDATE SET search_vector = excluded.search_vector;
        RETURN NEW;
    END $$""",
    """CREATE TRIGGER change_search_insert AFTER INSERT ON change_documents
        FOR EACH ROW EXECUTE FUNCTION change_search_sync()""",
    """CREATE TRIGGER change_search_update AFTER UPDATE ON change_documents FOR EACH ROW
        WHEN (OLD.search_title IS DISTINCT FROM NEW.search_title
           OR OLD.search_keywords IS DISTINCT FROM NEW.search_keywords
           OR OLD.search_body IS DISTINCT FROM NEW.search_body)
        EXECUTE FUNCTION change_search_sync()""",
    """CREATE TRIGGER change_search_delete AFTER DELETE ON change_documents
        FOR EACH ROW EXECUTE FUNCTION change_search_sync()""",
]


def _changes() -> None:
    op.create_table(
        "changes",
        sa.Column("row_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("change_id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("customer_codes", _JSON, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("modified_by", sa.String(200), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("modified_at", _TS, nullable=False),
        sa.Column("start_utc", _TS),
        sa.Column("end_utc", _TS),
        sa.Column("timezone", sa.String(64)),
        sa.UniqueConstraint("change_id", name="uq_changes_change_id"),
    )
    op.create_index("ix_changes_modified", "changes", ["modified_at", "change_id"])
    op.create_index("ix_changes_status_modified", "changes", ["status", "modified_at", "change_id"])
    op.create_index("ix_changes_created_by_modified", "changes", ["created_by", "modified_at"])
    op.create_index("ix_changes_status_start", "changes", ["status", "start_utc"])
    op.create_index("ix_changes_start", "changes", ["start_utc"])
    op.create_table(
        "change_documents",
        sa.Column("change_id", sa.String(36), sa.ForeignKey("changes.change_id"), nullable=False),
        sa.Column("search_title", sa.Text, nullable=False),
        sa.Column("search_keywords", sa.Text, nullable=False),
        sa.Column("search_body", sa.Text, nullable=False),
        sa.Column("document", _JSON, nullable=False),
        sa.PrimaryKeyConstraint("change_id"),
    )


def _children() -> None:
    op.create_table(
        "change_customers",
        sa.Column("change_id", sa.String(36), sa.ForeignKey("changes.change_id"), nullable=False),
        sa.Column("customer_code", sa.String(32), nullable=False),
        sa.Column("row_id", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("change_id", "customer_code"),
    )
    op.create_index("ix_change_customers_customer", "change_customers", ["customer_code", "row_id"])
    op.create_table(
        "change_versions",
        sa.Column("change_id", sa.String(36), sa.ForeignKey("changes.change_id"), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("modified_by", sa.String(200), nullable=False),
        sa.Column("modified_at", _TS, nullable=False),
        sa.Column("document", _JSON, nullable=False),
        sa.PrimaryKeyConstraint("change_id", "version"),
    )


def _executions() -> None:
    op.create_table(
        "change_executions",
        sa.Column("change_id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("customer_code", sa.String(32), nullable=False),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        *(
            sa.Column(name, sa.Integer, nullable=False)
            for name in ("recipients", "sent", "already_sent", "filtered", "failed")
        ),
        sa.Column("started_at", _TS, nullable=False),
        sa.Column("finished_at", _TS, nullable=False),
        sa.Column("record", _JSON, nullable=False),
        sa.PrimaryKeyConstraint("change_id", "version", "customer_code", "event"),
    )


def upgrade() -> None:
    _changes()
    _children()
    _executions()
    dialect = op.get_bind().dialect.name
    for statement in _FTS5 if dialect == "sqlite" else _TSVECTOR if dialect == "postgresql" else []:
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TABLE IF EXISTS change_fts")
        op.execute("DROP VIEW IF EXISTS change_fts_content")
    if dialect == "postgresql":
        op.execute("DROP TABLE IF EXISTS change_search")
    tables = ("change_executions", "change_versions", "change_customers", "change_documents")
    for table in (*tables, "changes"):
        op.drop_table(table)
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS change_search_sync()")
        op.execute("DROP FUNCTION IF EXISTS change_search_vector(text, text, text)")

"""Search order (owner: H-search2): PostgreSQL keeps each change's recency in ``change_search``.

``change_search`` gains ``modified_at``, ``change_id`` and ``status`` (copies of ``changes``) and
the btrees ``ix_change_search_newest`` and ``ix_change_search_status_newest``, so "the newest matches of a word" is one index of one table: a walk
of that index newest first checking each row's tsvector (common words), or the GIN matches sorted
without a lookup in ``changes`` per match (rare words). The trigger that writes a change's
tsvector writes them; a new trigger on ``changes`` follows a change of ``modified_at`` or status.

The table is rebuilt (not updated in place): an UPDATE of every row would put every row's
tsvector in the GIN pending list again. The GIN index is built anew, and (as 0004 does) the
index tables are analysed: without statistics (autovacuum off, or not yet past its threshold)
the planner took a status for a few rows and read all of them instead of walking its index.

Revision ID: 0011_search_order
Revises: 0010_notice_kind
"""

from __future__ import annotations

from alembic import op

revision = "0011_search_order"
down_revision = "0010_notice_kind"
branch_labels = None
depends_on = None

_SYNC = """CREATE OR REPLACE FUNCTION change_search_sync() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' THEN
            DELETE FROM change_search
            WHERE row_id = (SELECT row_id FROM changes WHERE change_id = OLD.change_id);
            RETURN OLD;
        END IF;
        IF current_setting('changecast.bulk_load', true) = 'on' THEN
            RETURN NEW;
        END IF;
        INSERT INTO change_search (row_id, search_vector{columns})
        SELECT row_id, change_search_vector(NEW.search_title, NEW.search_keywords, NEW.search_body)
            {values}
        FROM changes WHERE change_id = NEW.change_id
        ON CONFLICT (row_id) DO UPDATE SET search_vector = excluded.search_vector{updates};
        RETURN NEW;
    END $$"""

_ORDER = """CREATE FUNCTION change_search_order() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF current_setting('changecast.bulk_load', true) = 'on' THEN
            RETURN NEW;
        END IF;
        UPDATE change_search SET modified_at = NEW.modified_at, status = NEW.status
        WHERE row_id = NEW.row_id;
        RETURN NEW;
    END $$"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """CREATE TABLE change_search_next (
            row_id integer PRIMARY KEY REFERENCES changes (row_id),
            search_vector tsvector NOT NULL,
            modified_at timestamptz NOT NULL,
            change_id varchar(36) NOT NULL,
            status varchar(16) NOT NULL)"""
    )
    op.execute(
        """INSERT INTO change_search_next (row_id, search_vector, modified_at, change_id, status)
        SELECT s.row_id, s.search_vector, c.modified_at, c.change_id, c.status
        FROM change_search AS s JOIN changes AS c ON c.row_id = s.row_id"""
    )
    op.execute("DROP TABLE change_search")
    op.execute("ALTER TABLE change_search_next RENAME TO change_search")
    op.execute("ALTER INDEX change_search_next_pkey RENAME TO change_search_pkey")
    op.execute(
        "ALTER TABLE change_search RENAME CONSTRAINT change_search_next_row_id_fkey"
        " TO change_search_row_id_fkey"
    )
    op.execute("CREATE INDEX ix_change_search_vector ON change_search USING gin (search_vector)")
    op.execute("CREATE INDEX ix_change_search_newest ON change_search (modified_at, change_id)")
    op.execute(
        "CREATE INDEX ix_change_search_status_newest"
        " ON change_search (status, modified_at, change_id)"
    )
    op.execute(
        _SYNC.format(
            columns=", modified_at, change_id, status",
            values=", modified_at, change_id, status",
            updates=", modified_at = excluded.modified_at, change_id = excluded.change_id"
            ", status = excluded.status",
        )
    )
    op.execute(_ORDER)
    op.execute(
        """CREATE TRIGGER change_search_order AFTER UPDATE OF modified_at, status ON changes
        FOR EACH ROW
        WHEN (OLD.modified_at IS DISTINCT FROM NEW.modified_at OR OLD.status <> NEW.status)
        EXECUTE FUNCTION change_search_order()"""
    )
    op.execute("ANALYZE changes, change_search, change_customers")  # as 0004: plans need them


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER change_search_order ON changes")
    op.execute("DROP FUNCTION change_search_order()")
    op.execute(_SYNC.format(columns="", values="", updates=""))
    op.execute("DROP INDEX ix_change_search_status_newest")
    op.execute("DROP INDEX ix_change_search_newest")
    op.execute(
        "ALTER TABLE change_search DROP COLUMN modified_at, DROP COLUMN change_id,"
        " DROP COLUMN status"
    )

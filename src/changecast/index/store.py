"""SqlChangeIndex: the ChangeIndex port on SQLAlchemy Core, for SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from itertools import islice
from typing import Any

from sqlalchemy import Connection, Engine, Insert, Table, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from changecast.changes.models import (
    Change,
    ChangePage,
    ChangeQuery,
    ChangeStatus,
    ChangeSummary,
    Statistics,
    VersionSummary,
)
from changecast.index import queries
from changecast.index.bulk_pg import copy_load
from changecast.index.finder import find_page
from changecast.index.fulltext import SUMMARY_COLUMNS
from changecast.index.rows import (
    change_row,
    customer_rows,
    document_row,
    summary_of,
    version_row,
    version_summary_of,
)
from changecast.index.tables import (
    change_customers,
    change_documents,
    change_versions,
    changes,
)

BULK_BATCH = 5_000
RANK_WINDOW = 1_000
CHILD_TABLES = (change_documents, change_customers, change_versions)


class SqlChangeIndex:
    """The derived index of changes. Each method is one transaction; every write is idempotent."""

    def __init__(
        self, engine: Engine, *, rank_window: int = RANK_WINDOW, exact_totals: bool = False
    ) -> None:
        """Use ``engine`` (already migrated: see ``open_index``).

        ``rank_window``: a text search ranks the newest this-many matches by relevance; any
        further matches follow newest first (ranking every match of a very common word is slow).
        PostgreSQL counts at most ``rank_window`` matches of a text search, then reports that
        as a lower bound (``ChangePage.total_is_lower_bound``), unless ``exact_totals``.
        """
        self.engine = engine
        self.dialect = engine.dialect.name
        self.rank_window = rank_window
        self.exact_totals = exact_totals
        self._upserts: dict[str, Insert] = {}

    def close(self) -> None:
        """Release every pooled connection."""
        self.engine.dispose()

    # writes
    def upsert(self, change: Change, *, archived: bool) -> None:
        with self.engine.begin() as conn:
            self._write(conn, [change], archived=archived)

    def bulk_load(self, documents: Iterable[Change], *, archived: bool = True) -> int:
        """Upsert many documents in batches of ``BULK_BATCH`` per transaction; returns the count."""
        total = 0
        for batch in _batches(documents, BULK_BATCH):
            with self.engine.begin() as conn:
                if self.dialect == "postgresql":
                    copy_load(conn, batch, archived=archived)
                else:
                    self._write(conn, batch, archived=archived)
            total += len(batch)
        self.optimize()
        return total

    def optimize(self) -> None:
        """Refresh planner statistics (and merge FTS5 segments on SQLite); run after bulk loads."""
        if self.dialect == "postgresql":
            names = ", ".join((*(t.name for t in (changes, *CHILD_TABLES)), "change_search"))
            autocommit = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            with autocommit as conn:
                conn.exec_driver_sql(f"VACUUM (ANALYZE) {names}")
            return
        with self.engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO change_fts(change_fts) VALUES ('optimize')")
            conn.exec_driver_sql("ANALYZE")

    def remove(self, change_id: str) -> None:
        with self.engine.begin() as conn:
            for child in CHILD_TABLES:
                conn.execute(delete(child).where(child.c.change_id == change_id))
            conn.execute(delete(changes).where(changes.c.change_id == change_id))

    def clear(self) -> None:
        with self.engine.begin() as conn:
            for table in (*CHILD_TABLES, changes):
                conn.execute(delete(table))

    # reads
    def summary(self, change_id: str) -> ChangeSummary | None:
        statement = select(*SUMMARY_COLUMNS).where(changes.c.change_id == change_id)
        with self.engine.connect() as conn:
            row = conn.execute(statement).first()
        return None if row is None else summary_of(row)

    def document(self, change_id: str) -> Change | None:
        statement = select(change_documents.c.document).where(
            change_documents.c.change_id == change_id
        )
        with self.engine.connect() as conn:
            row = conn.execute(statement).first()
        return None if row is None else Change.model_validate(row.document)

    def find(self, query: ChangeQuery) -> ChangePage:
        with self.engine.connect() as conn:
            return find_page(
                conn,
                query,
                dialect=self.dialect,
                window=self.rank_window,
                exact_totals=self.exact_totals,
            )

    def statistics(
        self,
        *,
        visible_customers: frozenset[str] | None,
        now: datetime,
        created_by: str | None,
        customerless_by: str | None = None,
        include_drafts: bool = True,
    ) -> Statistics:
        statements = queries.statistics_statements(
            visible_customers=visible_customers,
            created_by=created_by,
            now=now,
            customerless_by=customerless_by,
            include_drafts=include_drafts,
        )
        by_status = dict.fromkeys(ChangeStatus, 0)
        upcoming = 0
        with self.engine.connect() as conn:
            for sign, statement in statements:
                for status, count, soon in conn.execute(statement):
                    if status in ChangeStatus.__members__.values():
                        by_status[ChangeStatus(status)] += sign * count
                    upcoming += sign * (soon or 0)
        return Statistics(by_status=by_status, total=sum(by_status.values()), upcoming=upcoming)

    def versions(self, change_id: str) -> list[VersionSummary]:
        statement = (
            select(change_versions)
            .where(change_versions.c.change_id == change_id)
            .order_by(change_versions.c.version)
        )
        with self.engine.connect() as conn:
            return [version_summary_of(row) for row in conn.execute(statement)]

    def version_document(self, change_id: str, version: int) -> Change | None:
        c = change_versions.c
        statement = select(c.document).where(c.change_id == change_id, c.version == version)
        with self.engine.connect() as conn:
            row = conn.execute(statement).first()
        return None if row is None else Change.model_validate(row.document)

    # internals
    def _write(self, conn: Connection, batch: Sequence[Change], *, archived: bool) -> None:
        latest = {change.change_id: change for change in batch}  # the last document per id wins
        documents = {change_id: document_row(change) for change_id, change in latest.items()}
        rows = [change_row(change) for change in latest.values()]
        written = conn.execute(self._upsert_changes(), rows)  # RETURNING: no second lookup
        row_ids: dict[str, int] = {str(row.change_id): int(row.row_id) for row in written}
        conn.execute(self._upsert(change_documents), list(documents.values()))
        conn.execute(delete(change_customers).where(change_customers.c.change_id.in_(documents)))
        customers = [row for c in latest.values() for row in customer_rows(c, row_ids[c.change_id])]
        if customers:
            conn.execute(self._upsert(change_customers), customers)
        if archived:
            versions: dict[tuple[str, int], dict[str, Any]] = {}
            for change in batch:
                same = change is latest[change.change_id]
                document = documents[change.change_id]["document"] if same else None
                versions[(change.change_id, change.version)] = version_row(change, document)
            conn.execute(self._upsert(change_versions), list(versions.values()))

    def _upsert(self, table: Table, *, key: str | None = None) -> Insert:
        """INSERT ... ON CONFLICT (key or primary key) DO UPDATE SET every other column.

        Built once per table: building it costs more than running it (upserts are the write path).
        """
        statement = self._upserts.get(table.name)
        if statement is None:
            statement = self._upserts[table.name] = self._build_upsert(table, key=key)
        return statement

    def _upsert_changes(self) -> Insert:
        """The ``changes`` upsert, returning ``(change_id, row_id)`` of every row written."""
        statement = self._upserts.get("changes:returning")
        if statement is None:
            upsert = self._upsert(changes, key="change_id")
            statement = upsert.returning(changes.c.change_id, changes.c.row_id)
            self._upserts["changes:returning"] = statement
        return statement

    def _build_upsert(self, table: Table, *, key: str | None) -> Insert:
        keys = [key] if key else [col.name for col in table.primary_key]
        insert: Any = (postgresql if self.dialect == "postgresql" else sqlite).insert(table)
        updates = {
            col.name: insert.excluded[col.name]
            for col in table.columns
            if col.name not in keys and not col.primary_key
        }
        if not updates:
            return insert.on_conflict_do_nothing(index_elements=keys)  # type: ignore[no-any-return]
        return insert.on_conflict_do_update(index_elements=keys, set_=updates)  # type: ignore[no-any-return]


def _batches(items: Iterable[Change], size: int) -> Iterator[list[Change]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch

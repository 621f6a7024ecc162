"""PostgreSQL bulk load: COPY into a temporary staging table, then upsert set-based from it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    func,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB, Insert, insert

from changecast.changes.models import Change
from changecast.index.rows import change_row, search_texts
from changecast.index.tables import (
    change_customers,
    change_documents,
    change_search,
    change_versions,
    changes,
)
from changecast.text_input import storable_json, storable_value

_TS = DateTime(timezone=True)
_STAGING = Table(
    "change_staging",
    MetaData(),
    Column("change_id", String(36)),
    Column("version", Integer),
    Column("status", String(16)),
    Column("title", Text),
    Column("customer_codes", JSONB),
    Column("created_by", String(200)),
    Column("modified_by", String(200)),
    Column("created_at", _TS),
    Column("modified_at", _TS),
    Column("start_utc", _TS),
    Column("end_utc", _TS),
    Column("timezone", String(64)),
    Column("kind", String(16)),
    Column("announcement_kind", String(16)),
    Column("search_title", Text),
    Column("search_keywords", Text),
    Column("search_body", Text),
    Column("document", JSONB),
    Column("is_latest", Boolean),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)
_COLUMNS = [c.name for c in _STAGING.columns]
_s = _STAGING.c


def copy_load(conn: Connection, batch: Sequence[Change], *, archived: bool) -> None:
    """Upsert ``batch`` through one COPY; the last document of each id becomes its current row."""
    latest = {change.change_id: change for change in batch}
    entries = {(change.change_id, change.version): change for change in batch}.values()
    _STAGING.create(conn)
    conn.exec_driver_sql("SET LOCAL changecast.bulk_load = 'on'")  # see change_search_sync()
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY change_staging ({', '.join(_COLUMNS)}) FROM STDIN") as copy:
        for change in entries:
            copy.write_row(_staging_row(change, is_latest=change is latest[change.change_id]))
    current = select(_s.change_id).where(_s.is_latest)
    conn.execute(_upsert(changes, _CHANGE_COLUMNS, _current_changes()))
    conn.execute(_upsert(change_documents, _DOCUMENT_COLUMNS, _current_documents()))
    conn.execute(_upsert(change_search, _SEARCH_COLUMNS, _current_vectors()))
    conn.execute(delete(change_customers).where(change_customers.c.change_id.in_(current)))
    conn.execute(insert(change_customers).from_select(_CUSTOMER_COLUMNS, _current_customers()))
    if archived:
        conn.execute(_upsert(change_versions, _VERSION_COLUMNS, _versions()))


def _staging_row(change: Change, *, is_latest: bool) -> list[Any]:
    row = storable_value(change_row(change) | search_texts(change))  # COPY skips the engine's hook
    row["customer_codes"] = json.dumps(row["customer_codes"])
    document = change.model_dump(mode="json", by_alias=True, exclude_none=True)
    row["document"] = storable_json(document)
    row["is_latest"] = is_latest
    return [row[name] for name in _COLUMNS]


_CHANGE_COLUMNS = [c.name for c in changes.columns if c.name != "row_id"]
_DOCUMENT_COLUMNS = [c.name for c in change_documents.columns]
_VERSION_COLUMNS = [c.name for c in change_versions.columns]
_SEARCH_COLUMNS = ["row_id", "search_vector", "modified_at", "change_id", "status"]  # 0011
_CUSTOMER_COLUMNS = ["change_id", "customer_code", "row_id", "customer_count"]


def _current_changes() -> Any:
    return select(*(_s[name] for name in _CHANGE_COLUMNS)).where(_s.is_latest)


def _current_documents() -> Any:
    return select(*(_s[name] for name in _DOCUMENT_COLUMNS)).where(_s.is_latest)


def _current_vectors() -> Any:
    vector = func.change_search_vector(_s.search_title, _s.search_keywords, _s.search_body)
    joined = _STAGING.join(changes, changes.c.change_id == _s.change_id)
    ordered = (
        changes.c.row_id,
        vector,
        changes.c.modified_at,
        changes.c.change_id,
        changes.c.status,
    )
    return select(*ordered).select_from(joined).where(_s.is_latest)


def _versions() -> Any:
    return select(*(_s[name] for name in _VERSION_COLUMNS))


def _current_customers() -> Any:
    code = func.jsonb_array_elements_text(_s.customer_codes).table_valued("value").lateral()
    return (
        select(
            _s.change_id, code.c.value, changes.c.row_id, func.jsonb_array_length(_s.customer_codes)
        )
        .select_from(_STAGING.join(changes, changes.c.change_id == _s.change_id).join(code, true()))
        .where(_s.is_latest)
    )


def _upsert(target: Table, names: list[str], source: Any) -> Insert:
    """INSERT INTO target (names) SELECT ... ON CONFLICT (its key) DO UPDATE the other columns."""
    keys = ["change_id"] if target is changes else [c.name for c in target.primary_key]
    statement = insert(target).from_select(names, source)
    updates = {name: statement.excluded[name] for name in names if name not in keys}
    return statement.on_conflict_do_update(index_elements=keys, set_=updates)

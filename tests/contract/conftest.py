"""ChangeIndex contract fixtures: one fresh SqlChangeIndex per test, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from changecast.changes.models import Change, ChangeStatus
from changecast.index.engine import drop_schema, open_index
from changecast.index.store import SqlChangeIndex

POSTGRES_URL = os.environ.get(
    "CHANGECAST_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
EPOCH = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def make_change(
    title: str = "Patch the database servers",
    *,
    status: ChangeStatus = ChangeStatus.SUBMITTED,
    customers: tuple[str, ...] = ("acme",),
    created_by: str = "alice@example.com",
    modified_at: datetime = EPOCH,
    start: datetime | None = None,
    timezone: str = "UTC",
    reason: str = "",
    plan: str = "",
    version: int = 1,
    change_id: str | None = None,
    ticket: str | None = None,
) -> Change:
    """A valid change document; ``start`` is local wall-clock time in ``timezone``."""
    metadata: dict[str, Any] = {
        "title": title,
        "customer_codes": list(customers),
        "change_reason": reason,
        "implementation_plan": plan,
        "tickets": {"service_now": ticket},
    }
    if start is not None:
        metadata["schedule"] = {
            "implementation_start": start.replace(tzinfo=None),
            "implementation_end": start.replace(tzinfo=None) + timedelta(hours=2),
            "timezone": timezone,
        }
    return Change.model_validate(
        {
            "change_id": change_id or str(uuid.uuid4()),
            "version": version,
            "created_at": EPOCH,
            "modified_at": modified_at,
            "created_by": created_by,
            "modified_by": created_by,
            "status": status,
            "change_metadata": metadata,
        }
    )


def sqlite_index(path: Path) -> SqlChangeIndex:
    return open_index(f"sqlite:///{path / 'index.db'}")


@pytest.fixture(scope="module")
def postgres_index() -> Iterator[SqlChangeIndex]:
    """One migrated index per test module, in its own PostgreSQL schema, dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:16]}"
    opened = open_index(POSTGRES_URL, schema=schema)
    try:
        yield opened
    finally:
        opened.close()
        drop_schema(POSTGRES_URL, schema)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def index(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlChangeIndex]:
    """An empty, migrated index: a new SQLite file, or the module's PostgreSQL schema, cleared."""
    if request.param == "sqlite":
        opened = sqlite_index(tmp_path)
        yield opened
        opened.close()
        return
    shared: SqlChangeIndex = request.getfixturevalue("postgres_index")
    shared.clear()
    yield shared

"""The benchmark's grown change index, cached: one SQLite file or PostgreSQL database per key.

Growing 100k changes by single upserts takes minutes, so the grown index is kept (keyed by the
migrations' text and what grew it) and reused; a measurement that changes it runs on a copy.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, create_engine, make_url, text

from changecast.changes.models import Change
from changecast.index.engine import (
    MIGRATIONS,
    SCHEMA_HEAD,
    create_index_engine,
    open_index,
    schema_revision,
)
from changecast.index.store import SqlChangeIndex

Grown = tuple[SqlChangeIndex, str]  # the index, and how it came to be (printed by the bench)


@dataclass(frozen=True)
class Growth:
    """How the index is filled: ``upsert`` (production; ``batch`` changes a transaction) or bulk."""

    how: str
    batch: int

    def describe(self) -> str:
        if self.how == "bulk":
            return "bulk load + optimize() (not what production runs)"
        if self.batch == 1:
            return "upsert(), one change per transaction, exactly as production"
        return (
            "the production upsert path (SqlChangeIndex._write + triggers); shortcut: "
            f"{self.batch} changes per transaction instead of 1"
        )

    def fill(self, index: SqlChangeIndex, changes: list[Change]) -> float:
        """Grow ``index`` by ``changes``; returns the seconds it took."""
        started = time.perf_counter()
        if self.how == "bulk":
            index.bulk_load(changes)
        elif self.batch == 1:
            for change in changes:
                index.upsert(change, archived=True)
        else:
            for start in range(0, len(changes), self.batch):
                with index.engine.begin() as conn:
                    index._write(conn, changes[start : start + self.batch], archived=True)
        return time.perf_counter() - started


def cache_key(material: str, growth: Growth) -> str:
    """A key for the grown index: every migration's text, the data's ``material``, ``growth``."""
    digest = hashlib.sha256()
    for path in sorted((MIGRATIONS / "versions").glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update(f"{material}\0{growth.how}\0{growth.batch}".encode())
    return digest.hexdigest()[:12]


@contextmanager
def grown_sqlite(
    cache_dir: Path, key: str, make: Callable[[], list[Change]], growth: Growth, *, copy: bool
) -> Iterator[Grown]:
    """The grown SQLite index (grown now unless cached); ``copy``: a throwaway copy of it."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / f"search-sqlite-{key}.db"
    note = f"reused {path}, grown earlier by {growth.describe()}"
    if not path.exists():
        part = path.with_name(path.name + ".part")
        _remove_sqlite(part)
        index = open_index(f"sqlite:///{part}")
        try:
            changes = make()
            seconds = growth.fill(index, changes)
            with index.engine.begin() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            index.close()
        for stale in cache_dir.glob("search-sqlite-*.db"):
            _remove_sqlite(stale)
        part.rename(path)
        _remove_sqlite(part)
        note = f"grew {len(changes):,} changes in {seconds:.0f} s by {growth.describe()}"
    with tempfile.TemporaryDirectory() as tmp:
        target = path
        if copy:
            target = Path(tmp) / "index.db"
            shutil.copyfile(path, target)
        index = open_index(f"sqlite:///{target}")
        try:
            yield index, note
        finally:
            index.close()


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


@contextmanager
def grown_postgres(
    url: str, key: str, make: Callable[[], list[Change]], growth: Growth, *, copy: bool
) -> Iterator[Grown]:
    """The grown database ``bench_search_<key>`` (grown now unless it exists); ``copy``: a
    throwaway ``CREATE DATABASE … TEMPLATE`` copy of it."""
    name = f"bench_search_{key}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        note = f"reused database {name}, grown earlier by {growth.describe()}"
        if not _exists(admin, name):
            note = _grow_postgres(admin, url, name, make, growth)
        target = name
        if copy:
            target = f"bench_run_{uuid.uuid4().hex[:8]}"
            _sql(admin, f'CREATE DATABASE "{target}" TEMPLATE "{name}"')
        index = open_index(_on(url, target))
        try:
            yield index, note
        finally:
            index.close()
            if copy:
                _sql(admin, f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
    finally:
        admin.dispose()


def _grow_postgres(
    admin: Engine, url: str, name: str, make: Callable[[], list[Change]], growth: Growth
) -> str:
    part = f"{name}_part"
    _sql(admin, f'DROP DATABASE IF EXISTS "{part}" WITH (FORCE)')
    _sql(admin, f'CREATE DATABASE "{part}"')
    index = open_index(_on(url, part))
    try:
        changes = make()
        seconds = growth.fill(index, changes)
    finally:
        index.close()
    with admin.connect() as conn:
        stale = conn.execute(
            text("SELECT datname FROM pg_database WHERE datname LIKE 'bench\\_search\\_%'")
        ).scalars()
        for old in [str(db) for db in stale if db != part]:
            _sql(admin, f'DROP DATABASE IF EXISTS "{old}" WITH (FORCE)')
    _sql(admin, f'ALTER DATABASE "{part}" RENAME TO "{name}"')
    return f"grew {len(changes):,} changes in {seconds:.0f} s by {growth.describe()}"


def _on(url: str, database: str) -> str:
    return make_url(url).set(database=database).render_as_string(hide_password=False)


def _exists(admin: Engine, name: str) -> bool:
    with admin.connect() as conn:
        found = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        return found.first() is not None


def _sql(admin: Engine, statement: str) -> None:
    with admin.connect() as conn:
        conn.exec_driver_sql(statement)


@contextmanager
def reused_sqlite(cache_dir: Path) -> Iterator[Grown]:
    """A copy of the newest cached grown SQLite index, upgraded to this tree's schema head.

    What production does with a grown index and a new release: ``index migrate`` (Alembic) on it.
    """
    grown = sorted(cache_dir.glob("search-sqlite-*.db"), key=lambda p: p.stat().st_mtime)
    if not grown:
        raise SystemExit(f"--reuse-grown: no grown SQLite index in {cache_dir}")
    path = grown[-1]
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "index.db"
        shutil.copyfile(path, target)
        url = f"sqlite:///{target}"
        before = _revision(url)
        started = time.perf_counter()
        index = open_index(url)  # runs the migrations after `before`
        seconds = time.perf_counter() - started
        try:
            yield index, _upgraded(str(path), before, seconds)
        finally:
            index.close()


@contextmanager
def reused_postgres(url: str) -> Iterator[Grown]:
    """A ``TEMPLATE`` copy of the newest grown ``bench_search_*`` database, upgraded to head."""
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            found = conn.execute(
                text(
                    "SELECT datname FROM pg_database WHERE datname LIKE 'bench\\_search\\_%'"
                    " AND datname NOT LIKE '%\\_part' ORDER BY"
                    " (pg_stat_file('base/' || oid || '/PG_VERSION')).modification DESC"
                )
            ).scalars()
            names = [str(name) for name in found]
        if not names:
            raise SystemExit("--reuse-grown: no grown bench_search_* database")
        target = f"bench_run_{uuid.uuid4().hex[:8]}"
        _sql(admin, f'CREATE DATABASE "{target}" TEMPLATE "{names[0]}"')
        try:
            before = _revision(_on(url, target))
            started = time.perf_counter()
            index = open_index(_on(url, target))
            seconds = time.perf_counter() - started
            try:
                yield index, _upgraded(f"database {names[0]}", before, seconds)
            finally:
                index.close()
        finally:
            _sql(admin, f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
    finally:
        admin.dispose()


def _revision(url: str) -> str | None:
    engine = create_index_engine(url)
    try:
        return schema_revision(engine)
    finally:
        engine.dispose()


def _upgraded(source: str, before: str | None, seconds: float) -> str:
    return (
        f"reused {source} (grown at revision {before}), a copy upgraded to {SCHEMA_HEAD} by "
        f"the migrations in {seconds:.1f} s"
    )

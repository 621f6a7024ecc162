"""Open the change index for a database URL: engine setup (SQLite pragmas) and Alembic migrations.

No ``alembic.ini`` is needed: the migrations ship inside the package and run programmatically.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from changecast.errors import InvalidInputError, UpstreamError
from changecast.index.store import SqlChangeIndex
from changecast.ports import DatabaseCredentials
from changecast.text_input import storable_json, storable_value

MIGRATIONS = Path(__file__).with_name("migrations")
SCHEMA_HEAD = "0012_delivery_outcomes"
"""The newest migration (a test keeps it equal to Alembic's head). Checking it needs no Alembic,
so that a worker's cold start does not import it."""
_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_MIGRATION_LOCK = 0x6368_6361_7374  # pg_advisory_xact_lock key: "chcast"
SQLITE_BUSY_TIMEOUT_MS = 10_000
SQLITE_CACHE_KIB = 64 * 1024  # per connection
SQLITE_MMAP_BYTES = 1 << 30
"""Read pages straight from the mapped file: an index larger than the page cache (100k changes:
~500 MB) is otherwise copied in page by page, which makes searches of common words CPU-bound."""
POSTGRES_SESSION = ("-cmax_parallel_workers_per_gather=0", "-cjit=off")
"""Index queries are short: parallel workers and JIT cost more to start than they save."""
AUTH_FAILED_SQLSTATES = frozenset({"28P01", "28000"})
"""invalid_password, invalid_authorization_specification: the password was rotated."""
MIGRATE_HINT = (
    "run `changecast deploy migrate --function changecast-<env>-migrate` (deployed: the "
    "migration runs inside the VPC) or `changecast index migrate` (a database this host "
    "reaches) before starting it"
)


class SchemaBehindError(InvalidInputError):
    """The index's schema is older (or newer) than this release expects."""


def open_index(
    url: str,
    *,
    schema: str | None = None,
    echo: bool = False,
    migrate: bool = True,
    credentials: DatabaseCredentials | None = None,
) -> SqlChangeIndex:
    """Open the change index at ``url``: migrated to the newest schema, or checked to be there.

    ``url`` is a SQLAlchemy URL: ``sqlite:////var/lib/changecast/index.db`` or
    ``postgresql+psycopg://user@host:5432/db``. ``schema`` (PostgreSQL only) keeps every table in
    that schema, creating it if needed; tests and benchmarks use it for isolation. With
    ``migrate=False`` (deployed processes) a schema that is behind raises ``SchemaBehindError``,
    which names the command that migrates it. ``credentials`` (PostgreSQL) give each new
    connection its user and password (see ``create_index_engine``).
    """
    engine = create_index_engine(url, schema=schema, echo=echo, credentials=credentials)
    if migrate:
        run_migrations(engine)
    else:
        require_schema(engine)
    return SqlChangeIndex(engine)


def schema_revision(engine: Engine) -> str | None:
    """The index's Alembic revision, or None for a database never migrated."""
    try:
        with engine.connect() as connection:
            row = connection.execute(text("SELECT version_num FROM alembic_version")).first()
    except SQLAlchemyError as exc:
        if "alembic_version" in str(exc):
            return None
        cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
        if authentication_failed(cause):
            raise UpstreamError(
                f"the index database refused the login: {_auth_reason(exc)}", retryable=False
            ) from None
        raise UpstreamError(
            f"the index database cannot be reached: {type(exc).__name__}", retryable=True
        ) from None
    return str(row[0]) if row else None


def require_schema(engine: Engine) -> None:
    """Refuse an index whose schema is not this release's (and say how to fix it)."""
    found = schema_revision(engine)
    if found != SCHEMA_HEAD:
        where = engine.url.render_as_string(hide_password=True)
        state = f"at revision {found}" if found else "not migrated"
        raise SchemaBehindError(
            f"the index at {where} is {state}; this release needs {SCHEMA_HEAD}: {MIGRATE_HINT}",
            found=found,
            expected=SCHEMA_HEAD,
        )


def create_index_engine(
    url: str,
    *,
    schema: str | None = None,
    echo: bool = False,
    credentials: DatabaseCredentials | None = None,
) -> Engine:
    """Create an engine for ``url`` (SQLite: WAL, foreign keys, busy timeout, real BEGIN).

    With ``credentials`` (PostgreSQL, a URL without user and password) every new connection logs
    in with ``credentials.current()``; when the server refuses them (the password was rotated)
    it logs in once more with ``credentials.refreshed()``.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if schema is not None:
            raise InvalidInputError("a schema can only be given for PostgreSQL", schema=schema)
        _make_parent(parsed.database)
        engine = create_engine(parsed, echo=echo, json_serializer=storable_json)
        _configure_sqlite(engine)
        _keep_storable(engine)
        return engine
    if backend != "postgresql":
        raise InvalidInputError(
            f"the index supports sqlite and postgresql URLs, not {backend!r}", backend=backend
        )
    if credentials is not None and (parsed.username or parsed.password):
        raise InvalidInputError(
            "the database URL names a user or password, and a credentials secret is set: "
            "drop them from the URL"
        )
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")  # the driver we ship
    options = list(POSTGRES_SESSION)
    if schema is not None:
        options.append(f"-csearch_path={_checked_schema(schema)}")
    connect_args: dict[str, Any] = {"options": " ".join(options)}
    engine = create_engine(
        parsed,
        echo=echo,
        connect_args=connect_args,
        pool_pre_ping=True,
        json_serializer=storable_json,
    )
    _keep_storable(engine)
    if credentials is not None:
        _log_in_with(engine, credentials)
    if schema is not None:
        with engine.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    return engine


def _log_in_with(engine: Engine, credentials: DatabaseCredentials) -> None:
    """Inject the secret's user and password into each new connection; re-read once if refused."""

    @event.listens_for(engine, "do_connect")
    def _connect(dialect: Any, record: Any, cargs: Any, cparams: dict[str, Any]) -> Any:
        del record
        dbapi = dialect.loaded_dbapi
        user, password = credentials.current()
        try:
            return dbapi.connect(*cargs, **{**cparams, "user": user, "password": password})
        except dbapi.OperationalError as exc:
            if not authentication_failed(exc):
                raise
        user, password = credentials.refreshed()
        return dbapi.connect(*cargs, **{**cparams, "user": user, "password": password})


def authentication_failed(exc: BaseException) -> bool:
    """Whether a connection error is the server refusing the user or password."""
    if getattr(exc, "sqlstate", None) in AUTH_FAILED_SQLSTATES:
        return True
    text_ = str(exc)
    return "password authentication failed" in text_ or "no password supplied" in text_


def _auth_reason(exc: BaseException) -> str:
    """The server's words (``password authentication failed for user "x"``), no password."""
    text_ = str(exc.orig if isinstance(exc, DBAPIError) else exc)
    found = re.search(
        r"(password authentication failed for user \"[^\"]{0,63}\"|no password supplied)", text_
    )
    return found.group(1) if found else "authentication failed"


def _keep_storable(engine: Engine) -> None:
    """Every bound string loses what PostgreSQL's text cannot hold, whoever wrote the statement.

    Input is refused at every boundary (``text_input``); this is the last defence, for documents
    that other tools wrote to S3 and ``index rebuild`` reloads.
    """

    @event.listens_for(engine, "before_cursor_execute", retval=True)
    def _storable(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
    ) -> tuple[str, Any]:
        del conn, cursor, context, executemany
        return statement, storable_value(parameters)


def run_migrations(engine: Engine) -> str:
    """Bring the index schema to the newest revision (safe to repeat); returns the revision."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    with engine.connect() as connection:
        connection.execution_options(sqlite_immediate=True)  # one writer migrates at a time
        with connection.begin():
            if connection.dialect.name == "postgresql":
                lock = text("SELECT pg_advisory_xact_lock(:key)")
                connection.execute(lock, {"key": _MIGRATION_LOCK})
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    return schema_revision(engine) or ""


def drop_schema(url: str, schema: str) -> None:
    """Drop a PostgreSQL schema and everything in it (for tests and benchmarks)."""
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{_checked_schema(schema)}" CASCADE'))
    finally:
        engine.dispose()


def _checked_schema(schema: str) -> str:
    if not _SCHEMA.match(schema):
        raise InvalidInputError(
            "a schema name is 1-63 lowercase letters, digits or '_', not starting with a digit",
            schema=schema[:80],
        )
    return schema


def _make_parent(database: str | None) -> None:
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _configure_sqlite(engine: Engine) -> None:
    """Pragmas on every connection, and BEGIN issued by us so DDL and DML are transactional."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, record: Any) -> None:
        del record
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (see _on_begin)
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
            cursor.execute("PRAGMA temp_store=MEMORY")
            cursor.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get("sqlite_immediate", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

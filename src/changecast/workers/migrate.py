"""AWS Lambda entry point that migrates the index inside the VPC (``changecast deploy migrate``).

The database is private, so the migration runs beside it: Terraform creates
``changecast-<env>-migrate`` (handler ``changecast.workers.migrate.handler``, the ``migrate``
package) with ``CHANGECAST_DATABASE_URL`` and ``CHANGECAST_DATABASE_SECRET_ID``. The result is
JSON: ``{"ok": true, "before": …, "after": …, "head": …, "database": …}``, or ``{"ok": false,
"error": …}`` — an error is reported in the result, never with a secret in it. The event
``{"check": true}`` only reads the revision (``changecast doctor``).
"""

from __future__ import annotations

from typing import Any

import structlog

from changecast.bootstrap import Runtime, resolve_settings
from changecast.errors import ChangecastError
from changecast.logging import configure_logging
from changecast.settings import load_settings

log = structlog.get_logger()


def migrate_index(runtime: Runtime, *, check_only: bool = False) -> dict[str, Any]:
    """Migrate ``runtime``'s database to this release's head (or only read its revision)."""
    from changecast.index.engine import (
        SCHEMA_HEAD,
        create_index_engine,
        run_migrations,
        schema_revision,
    )

    if not runtime.settings.database_url:
        return {"ok": False, "error": "CHANGECAST_DATABASE_URL is not set on the function"}
    engine = create_index_engine(
        runtime.settings.index_url, credentials=runtime.database_credentials
    )
    where = engine.url.render_as_string(hide_password=True)
    result: dict[str, Any] = {"database": where, "head": SCHEMA_HEAD, "before": None}
    try:
        result["before"] = before = schema_revision(engine)
        if check_only:
            return {**result, "ok": True, "check": True, "after": before}
        after = run_migrations(engine)
    except Exception as exc:  # reported to the caller, not raised: the CLI prints it
        reason = _reason(exc)
        log.error("index_migration_failed", database=where, reason=reason)
        return {**result, "ok": False, "error": reason}
    finally:
        engine.dispose()
    log.info("index_migrated", database=where, before=before, after=after)
    return {**result, "ok": True, "after": after}


def _reason(exc: BaseException) -> str:
    """One line about ``exc``. The URL carries no password and drivers do not echo one."""
    text = str(exc) if isinstance(exc, ChangecastError) else f"{type(exc).__name__}: {exc}"
    return " ".join(text.split())[:1000]


def handler(event: Any, context: Any) -> dict[str, Any]:
    """The Lambda handler: ``{}`` migrates to head; ``{"check": true}`` only reads."""
    del context
    configure_logging(json_output=True)
    check_only = isinstance(event, dict) and event.get("check") is True
    try:
        settings, _ = resolve_settings(load_settings(), process="worker")
    except ChangecastError as exc:
        return {"ok": False, "error": str(exc)[:1000]}
    return migrate_index(Runtime(settings=settings), check_only=check_only)

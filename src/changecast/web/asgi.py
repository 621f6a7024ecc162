"""The portal as a deployed process: ``uvicorn --factory changecast.web.asgi:create_app``.

Settings come from the environment (``CHANGECAST_*``). The mode is ``aws`` unless
``CHANGECAST_MODE=local`` says otherwise; a ``local.json`` in the data directory is never read.
Everything the portal needs is checked before it answers its first request: a missing setting,
config.json that does not load, or an index whose schema is behind stops the start with a
message naming the fix.

Run bare, uvicorn trusts X-Forwarded-For from 127.0.0.1; ``changecast serve`` does not (it trusts
only CHANGECAST_WEB__FORWARDED_ALLOW_IPS). Bare, pass ``--no-proxy-headers`` or
``--forwarded-allow-ips`` with the proxies' addresses.
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI

from changecast.bootstrap import Runtime, build_runtime
from changecast.logging import configure_logging
from changecast.settings import load_settings
from changecast.web import app as web_app

log = structlog.get_logger()


def build_portal_runtime(**overrides: Any) -> Runtime:
    """The portal's Runtime, with config.json and the index checked now rather than later."""
    runtime = build_runtime(load_settings(**overrides), process="portal")
    runtime.directory  # noqa: B018 - loads and validates config.json (maybe from S3)
    runtime.index  # noqa: B018 - refuses a schema that `changecast index migrate` must bring up
    return runtime


def create_app() -> FastAPI:
    """The ASGI application built from the environment's settings."""
    configure_logging(json_output=True)
    runtime = build_portal_runtime()
    log.info(
        "portal_starting",
        mode=runtime.settings.mode,
        config=str(runtime.settings.config_location),
        customers=len(runtime.directory.codes),
    )
    return web_app.create_app(runtime)

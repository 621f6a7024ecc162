"""Builds the FastAPI application from a Runtime."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI, Request, Response

from changecast.bootstrap import Runtime
from changecast.web.api import changes as changes_api
from changecast.web.api import meta as meta_api
from changecast.web.auth import dev
from changecast.web.auth.session import SessionCodec
from changecast.web.deps import get_codec
from changecast.web.errors import install_error_handlers
from changecast.web.limits import BodyLimitMiddleware


def _session_secret(runtime: Runtime) -> str:
    """The configured secret; in local mode one is made once and kept in the data directory."""
    configured = runtime.settings.web.session_secret
    if configured is not None:
        return configured.get_secret_value()
    if runtime.settings.mode != "local":
        raise RuntimeError("CHANGECAST_WEB__SESSION_SECRET must be set outside local mode")
    path: Path = runtime.settings.data_dir / "session.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


def create_app(runtime: Runtime) -> FastAPI:
    """The portal and API. Dev login exists only in local mode."""
    local = runtime.settings.mode == "local"
    app = FastAPI(
        title="changecast",
        version="0.1.0",
        description="Change notices, approved once and delivered through each customer's SES.",
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    app.state.runtime = runtime
    app.state.session_codec = SessionCodec(
        secret=_session_secret(runtime),
        max_age=runtime.settings.web.session_max_age_seconds,
        secure=runtime.settings.web.secure_cookies and not local,
    )
    install_error_handlers(app)
    app.include_router(meta_api.router)
    app.include_router(changes_api.router)
    if local:
        app.include_router(dev.router)

    @app.middleware("http")
    async def refresh_session(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        actor = getattr(request.state, "refresh_actor", None)
        if actor is not None:
            get_codec(request).set_cookie(response, actor)
        return response

    app.add_middleware(BodyLimitMiddleware, max_bytes=runtime.settings.web.max_body_bytes)
    return app

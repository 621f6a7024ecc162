"""Builds the FastAPI application from a Runtime."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from pathlib import Path

import structlog
from fastapi import Depends, FastAPI, Request, Response

from changecast.bootstrap import Runtime
from changecast.settings import Settings
from changecast.web.api import audit as audit_api
from changecast.web.api import changes as changes_api
from changecast.web.api import deliveries as deliveries_api
from changecast.web.api import local_outbox
from changecast.web.api import meta as meta_api
from changecast.web.api import session as session_api
from changecast.web.api import tokens as tokens_api
from changecast.web.api_docs import install_api_docs
from changecast.web.auth import dev, saml
from changecast.web.auth.csrf import require_csrf
from changecast.web.auth.request_audit import RequestAuditMiddleware
from changecast.web.auth.saml_settings import ServiceProvider
from changecast.web.auth.session import COOKIE_NAME, SessionCodec
from changecast.web.deps import get_codec
from changecast.web.errors import install_error_handlers
from changecast.web.headers import NoStoreMiddleware
from changecast.web.limits import BodyLimitMiddleware
from changecast.web.pages.routes import install_pages
from changecast.web.request_metrics import install_request_metrics

log = structlog.get_logger()


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


def _service_provider(runtime: Runtime) -> ServiceProvider | None:
    """The SAML SP when configured (a broken configuration stops the start)."""
    saml_settings = runtime.settings.saml
    if not saml_settings.configured:
        if runtime.settings.mode != "local":
            log.warning("saml_not_configured", hint="set CHANGECAST_SAML__IDP_* to allow sign-in")
        return None
    return ServiceProvider(saml_settings, runtime.config.email_config.portal_base_url)


OPENAPI_TAGS = [
    {"name": "changes", "description": "Drafts, edits, actions (submit, approve, …), versions."},
    {"name": "deliveries", "description": "Each customer's delivery state; re-driving one."},
    {"name": "audit", "description": "The audit trail for Auditors: browse and export."},
    {
        "name": "tokens",
        "description": "API tokens: create (the secret is shown once), list, revoke.",
    },
    {"name": "session", "description": "Who is signed in, and the CSRF token for their writes."},
    {"name": "meta", "description": "Health, readiness and the customers in the configuration."},
    {"name": "local", "description": "Local mode only: what the embedded SES sent."},
]
"""The OpenAPI tags, in the order the docs show them."""


def api_version() -> str:
    """The API version: the installed package's version."""
    try:
        return package_version("changecast")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0.0.0"


def docs_enabled(settings: Settings) -> bool:
    """``/docs``: as ``CHANGECAST_WEB__API_DOCS`` says, else only in local mode."""
    configured = settings.web.api_docs
    return configured if configured is not None else settings.mode == "local"


def _sets_session_cookie(response: Response) -> bool:
    """Whether the route already signed in or out (its cookie wins over a refresh)."""
    prefix = COOKIE_NAME.encode() + b"="
    return any(k == b"set-cookie" and v.startswith(prefix) for k, v in response.raw_headers)


def _include_routers(app: FastAPI, runtime: Runtime) -> None:
    for router in (meta_api, session_api, tokens_api, audit_api):
        app.include_router(router.router)
    app.include_router(deliveries_api.router)  # before changes: POST /changes/{id}/{action}
    app.include_router(changes_api.router)
    app.include_router(saml.router)
    if runtime.settings.dev_login_enabled:
        app.include_router(dev.router)
    if runtime.settings.mode == "local":
        app.include_router(local_outbox.router)


def create_app(runtime: Runtime, *, csrf: bool = True) -> FastAPI:
    """The portal and API. Dev login exists only in local mode.

    ``csrf=False`` is for benchmarks only; every deployed and local portal enforces CSRF tokens.
    """
    local = runtime.settings.mode == "local"
    app = FastAPI(
        title="changecast",
        version=api_version(),
        openapi_tags=OPENAPI_TAGS,
        description="Change notices, approved once and delivered through each customer's SES.",
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        dependencies=[Depends(require_csrf)],
    )
    app.state.runtime = runtime
    app.state.csrf_enforced = csrf
    app.state.session_codec = SessionCodec(
        secret=_session_secret(runtime),
        max_age=runtime.settings.web.session_max_age_seconds,
        secure=runtime.settings.web.secure_cookies and not local,
        absolute_max_age=runtime.settings.web.session_absolute_seconds,
    )
    app.state.saml = _service_provider(runtime)
    install_error_handlers(app)
    _include_routers(app, runtime)
    if docs_enabled(runtime.settings):
        install_api_docs(app, openapi_url="/openapi.json")
    install_pages(app)

    @app.middleware("http")
    async def refresh_session(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        refreshed = getattr(request.state, "refresh_session", None)
        if refreshed is not None and not _sets_session_cookie(response):
            get_codec(request).set_cookie(response, refreshed)
        return response

    app.add_middleware(RequestAuditMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=runtime.settings.web.max_body_bytes)
    app.add_middleware(NoStoreMiddleware)
    install_request_metrics(app, runtime)
    return app

"""Registers the portal on the app: templates, static files, HTML errors, headers and routes."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from changecast.web.pages import (
    announcements,
    approvals,
    audit,
    calendar_feed,
    change_view,
    changes,
    dashboard,
    deliveries,
    mine,
    outbox,
    preview,
    profile,
    search,
    signin,
    signoff,
    survey,
    survey_results,
)
from changecast.web.pages.errors import install_page_errors
from changecast.web.pages.security import SecurityHeadersMiddleware
from changecast.web.pages.templating import STATIC_DIR, build_templates


def install_pages(app: FastAPI) -> None:
    """Call after the JSON error handlers are installed: page errors wrap them."""
    app.state.templates = build_templates()
    install_page_errors(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_api_route("/favicon.ico", favicon, methods=["GET"], include_in_schema=False)
    for module in (signin, dashboard, changes, preview, change_view, search, mine, approvals):
        app.include_router(module.router)
    app.include_router(announcements.router)
    app.include_router(survey.router)
    app.include_router(survey_results.router)
    app.include_router(profile.router)
    app.include_router(signoff.router)
    app.include_router(calendar_feed.router)
    app.include_router(audit.router)
    app.include_router(deliveries.router)
    if app.state.runtime.settings.mode == "local":
        app.include_router(outbox.router)
    app.add_middleware(SecurityHeadersMiddleware)


def favicon() -> FileResponse:
    """Browsers ask for /favicon.ico on pages that name no icon (the feed's 404, raw files)."""
    headers = {"cache-control": "public, max-age=86400"}
    return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml", headers=headers)

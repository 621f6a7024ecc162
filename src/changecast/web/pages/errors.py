"""HTML error pages (403, 404, 409, …) and the sign-in redirect, for browser requests to pages.

API paths keep the JSON error shape: the JSON handlers installed first are called for them.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from changecast.access.models import Actor
from changecast.errors import ChangecastError, ConflictError
from changecast.web.deps import current_session
from changecast.web.errors import NotSignedInError, status_for
from changecast.web.pages.templating import render

NOT_PAGES = ("/api/", "/auth/", "/static/", "/docs", "/openapi.json", "/redoc")
TITLES = {
    400: "That request could not be read",
    403: "You may not do that",
    404: "Not found",
    405: "Not allowed here",
    409: "That clashes with the current state",
    422: "Some fields need attention",
    502: "A service we depend on failed",
    503: "A service we depend on is unavailable; try again",
}
Handler = Callable[[Request, Exception], Response | Awaitable[Response]]


def is_page_request(request: Request) -> bool:
    """A browser (or htmx) asking a page route for HTML."""
    path = request.url.path
    if path.startswith(NOT_PAGES) or path in {"/api", "/auth"}:
        return False
    accept = request.headers.get("accept", "")
    return "text/html" in accept or request.headers.get("hx-request") == "true"


def optional_actor(request: Request) -> Actor | None:
    """The signed-in user if the session is valid, without raising (error pages, sign-in)."""
    data = current_session(request)
    return None if data is None else data.actor()


def sign_in_redirect(request: Request) -> RedirectResponse:
    """Back to this page after signing in; for a form post, back to the page that posted it."""
    url = request.url
    if request.method != "GET":
        referer = urlsplit(request.headers.get("referer", ""))
        same_site = referer.netloc == url.netloc and referer.path.startswith("/")
        url = url.replace(
            path=referer.path if same_site else "/", query=referer.query if same_site else ""
        )
    target = url.path + (f"?{url.query}" if url.query else "")
    return RedirectResponse(f"/signin?next={quote(target, safe='')}", status_code=303)


def error_page(
    request: Request, status: int, message: str, *, extra: dict[str, Any] | None = None
) -> Response:
    name = f"errors/{status}.html" if status in {403, 404, 409} else "errors/error.html"
    context = {"status": status, "title": TITLES.get(status, "Something went wrong")}
    context |= {"message": message, **(extra or {})}
    return render(request, name, optional_actor(request), context, status=status)


def _conflict_extra(exc: ChangecastError) -> dict[str, Any]:
    if isinstance(exc, ConflictError) and "latest_version" in exc.context:
        change_id = exc.context.get("change_id")
        return {"latest_version": exc.context["latest_version"], "change_id": change_id}
    return {}


async def _call(handler: Handler, request: Request, exc: Exception) -> Response:
    result = handler(request, exc)
    return await result if inspect.isawaitable(result) else result


def install_page_errors(app: FastAPI) -> None:
    """Wrap the JSON handlers: pages get HTML, everything else keeps JSON."""
    json_changecast: Handler = app.exception_handlers[ChangecastError]
    json_http: Handler = app.exception_handlers[StarletteHTTPException]
    json_validation: Handler = app.exception_handlers[RequestValidationError]

    async def on_changecast(request: Request, exc: Exception) -> Response:
        if not is_page_request(request) or not isinstance(exc, ChangecastError):
            return await _call(json_changecast, request, exc)
        if isinstance(exc, NotSignedInError):
            return sign_in_redirect(request)
        return error_page(request, status_for(exc), exc.message, extra=_conflict_extra(exc))

    async def on_http(request: Request, exc: Exception) -> Response:
        if not is_page_request(request) or not isinstance(exc, StarletteHTTPException):
            return await _call(json_http, request, exc)
        return error_page(request, exc.status_code, str(exc.detail))

    async def on_validation(request: Request, exc: Exception) -> Response:
        if not is_page_request(request) or not isinstance(exc, RequestValidationError):
            return await _call(json_validation, request, exc)
        message = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ())[1:]) or 'request'}: {e.get('msg')}"
            for e in exc.errors()
        )
        return error_page(request, 422, message)

    app.add_exception_handler(ChangecastError, on_changecast)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)

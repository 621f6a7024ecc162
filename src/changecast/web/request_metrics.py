"""Portal metrics: latency and 5xx answers per route template and method (ASGI middleware).

A long-running portal aggregates and writes its metrics at most every
``CHANGECAST_METRICS__PORTAL_FLUSH_SECONDS`` (checked when a request ends, and once more at
shutdown), so a busy server writes a few EMF lines a minute rather than one per request. The
portal Lambda flushes after every request: its process may be frozen or ended at any time.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from changecast.bootstrap import Runtime
from changecast.metrics import names
from changecast.metrics.ports import Metrics, Unit

UNMATCHED = "unmatched"
"""The route of a request no route matched: raw paths would make a dimension per URL."""
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def route_template(scope: Scope) -> str:
    """The matched route's path template (``/api/changes/{change_id}``), never the raw path."""
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) and path else UNMATCHED


class RequestMetricsMiddleware:
    """Records ``PortalRequestLatency`` (ms) and ``PortalRequestErrors`` for each request."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: Metrics,
        flush_seconds: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.flush_seconds = flush_seconds
        self.monotonic = monotonic
        self._flushed_at = monotonic()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, self._flushing_at_shutdown(send))
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # unless the app answers: an error that escapes it is a 500

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            status = 500
            raise
        finally:
            self._record(scope, status, time.perf_counter() - started)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        method = scope["method"] if scope["method"] in METHODS else "OTHER"
        where = {"route": route_template(scope), "method": method}
        self.metrics.timing(names.PORTAL_REQUEST_LATENCY, seconds, unit=Unit.MILLISECONDS, **where)
        self.metrics.count(names.PORTAL_REQUEST_ERRORS, int(status >= 500), **where)
        now = self.monotonic()
        if now - self._flushed_at >= self.flush_seconds:
            self.metrics.flush()
            self._flushed_at = now

    def _flushing_at_shutdown(self, send: Send) -> Send:
        async def flushing_send(message: Message) -> None:
            if message["type"] == "lifespan.shutdown.complete":
                self.metrics.flush()
            await send(message)

        return flushing_send


def flush_interval(runtime: Runtime) -> float:
    """Every request in Lambda; otherwise the configured interval."""
    if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        return 0.0
    return runtime.settings.metrics.portal_flush_seconds


def install_request_metrics(app: FastAPI, runtime: Runtime) -> None:
    """Measure every request, outside the other middleware (so body-limit 413s count too)."""
    app.add_middleware(
        RequestMetricsMiddleware, metrics=runtime.metrics, flush_seconds=flush_interval(runtime)
    )

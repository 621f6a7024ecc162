"""``Cache-Control: no-store`` on every answer except static assets.

Signed-in pages and API answers carry one person's data; no browser or shared cache may keep them.
A route that sets its own Cache-Control keeps it. Static files (``/static``) may be cached.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CACHEABLE_PREFIXES = ("/static/",)


class NoStoreMiddleware:
    """Adds ``Cache-Control: no-store`` unless the path is a static asset or one is already set."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or str(scope.get("path", "")).startswith(CACHEABLE_PREFIXES):
            await self.app(scope, receive, send)
            return

        async def with_no_store(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(name.lower() == b"cache-control" for name, _ in headers):
                    headers.append((b"cache-control", b"no-store"))
                    message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_no_store)

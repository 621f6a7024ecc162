"""ASGI middleware bounding request bodies before anything parses them: size, then JSON nesting.

A body over the size limit is a 413, whether announced by Content-Length or streamed. A JSON body
(or one without a content type, which FastAPI reads as JSON) that nests deeper than the depth
limit is a 422; nothing behind this middleware sees it, so nothing is written.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from changecast.json_depth import MAX_JSON_DEPTH, too_deep

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class BodyTooLargeError(Exception):
    """Raised from ``receive`` when a chunked body passes the limit."""


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            kind = bytes(value).split(b";", 1)[0].strip().lower()
            return kind == b"application/json" or kind.endswith(b"+json")
    return True  # FastAPI reads a body without a content type as JSON


def _error(message: str) -> bytes:
    return json.dumps(
        {
            "error": {
                "kind": "invalid_input",
                "message": message,
                "details": [{"field": "(document)", "problem": message}],
            }
        }
    ).encode()


async def _answer(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyLimitMiddleware:
    """413 for bodies over ``max_bytes``; 422 for JSON bodies nested deeper than ``max_depth``."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, max_depth: int = MAX_JSON_DEPTH) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_depth = max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await self._refuse_size(send)
                return
        if scope.get("method") in _BODY_METHODS and _is_json(scope):
            await self._checked_json(scope, receive, send)
            return
        await self._streamed(scope, receive, send)

    async def _streamed(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Count the body as the app reads it; past the limit, the answer is a 413."""
        seen = 0
        exceeded = False
        answered = False

        async def counting_receive() -> Message:
            nonlocal seen, exceeded
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    exceeded = True
                    raise BodyTooLargeError
            return message

        async def guarded_send(message: Message) -> None:
            # FastAPI turns an error while reading a form into its own 400: answer 413 instead.
            nonlocal answered
            if not exceeded:
                await send(message)
            elif not answered and message["type"] == "http.response.start":
                answered = True
                await self._refuse_size(send)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except BodyTooLargeError:
            if not answered:
                await self._refuse_size(send)

    async def _checked_json(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Read the whole (bounded) body, check its depth, then hand it on unchanged."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse_size(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if body and too_deep(body, self.max_depth):
            refusal = f"the request body nests deeper than {self.max_depth} levels"
            await _answer(send, 422, _error(refusal))
            return
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse_size(self, send: Send) -> None:
        await _answer(send, 413, _error(f"the request body is larger than {self.max_bytes} bytes"))

"""Audit safety net: a successful state-changing request that recorded no event gets one.

Routes outside the change use cases (delivery retries, say) are recorded as ``request`` events.
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from changecast.access.models import Actor
from changecast.audit.models import AuditAction
from changecast.audit.service import collecting, new_event

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class RequestAuditMiddleware:
    """Records ``request`` events for successful unsafe requests that recorded nothing else."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in UNSAFE:
            await self.app(scope, receive, send)
            return
        status: dict[str, int] = {}

        async def remember_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = int(message["status"])
            await send(message)

        with collecting() as events:
            await self.app(scope, receive, remember_status)
        if events or status.get("code", 500) >= 400:
            return
        state: dict[str, Any] = scope.get("state") or {}
        actor = state.get("actor")
        if isinstance(actor, Actor):
            self._record(scope, actor, status["code"])

    def _record(self, scope: Scope, actor: Actor, status: int) -> None:
        runtime = scope["app"].state.runtime
        params = scope.get("path_params") or {}
        change_id = params.get("change_id")
        event = new_event(
            actor=actor,
            action=AuditAction.REQUEST,
            clock=runtime.clock,
            change_id=str(change_id) if change_id else None,
            detail={"method": scope["method"], "path": scope["path"][:300], "status": str(status)},
        )
        runtime.audit.record(event)

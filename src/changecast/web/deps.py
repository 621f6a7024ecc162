"""FastAPI dependencies: the runtime, the signed-in actor, and parsed path ids."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from changecast.access.models import Actor
from changecast.actions.context import ChangeDeps
from changecast.bootstrap import Runtime
from changecast.delivery.ports import DeliveryReadModel, Ledger
from changecast.ids import ChangeId, parse_change_id
from changecast.web.auth.address import client_address
from changecast.web.auth.session import COOKIE_NAME, SessionCodec, SessionData
from changecast.web.auth.tokens import bearer_actor
from changecast.web.errors import NotSignedInError


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_codec(request: Request) -> SessionCodec:
    codec: SessionCodec = request.app.state.session_codec
    return codec


def current_session(request: Request) -> SessionData | None:
    """The valid, not signed-out session of the cookie, if any (remembered for the request)."""
    if hasattr(request.state, "session"):
        cached: SessionData | None = request.state.session
        return cached
    token = request.cookies.get(COOKIE_NAME)
    data = get_codec(request).decode(token) if token else None
    if data is not None:
        runtime = get_runtime(request)
        if runtime.signins.session_ended(data.sid, runtime.clock.now()):
            data = None
    request.state.session = data
    return data


def current_actor(request: Request) -> Actor:
    """The caller: an API token (``Authorization: Bearer``) or else the session cookie.

    A request carrying an Authorization header is judged by it alone, never by the cookie.
    Remembers a refresh of the session for the middleware to set.
    """
    runtime = get_runtime(request)
    address = client_address(request, runtime.settings.web.trusted_proxy_hops)
    header = request.headers.get("authorization")
    if header is not None:
        actor = bearer_actor(header, store=runtime.tokens, users=runtime.users, clock=runtime.clock)
    else:
        data = current_session(request)
        if data is None:
            raise NotSignedInError("sign in first: no valid session")
        codec = get_codec(request)
        if codec.needs_refresh(data):
            request.state.refresh_session = codec.refreshed(data)
        actor = data.actor()
    actor = actor.model_copy(update={"source_ip": address})
    request.state.actor = actor
    return actor


def change_deps(request: Request) -> ChangeDeps:
    return get_runtime(request).changes


def delivery_read_model(request: Request) -> DeliveryReadModel:
    return get_runtime(request).deliveries


def delivery_ledger(request: Request) -> Ledger:
    return get_runtime(request).ledger


UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


def change_id_path(
    change_id: Annotated[str, Path(json_schema_extra={"format": "uuid", "pattern": UUID_PATTERN})],
) -> ChangeId:
    """The change id of the path; declared a UUID in the OpenAPI document, refused (400) if not."""
    return parse_change_id(change_id)


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
CurrentActor = Annotated[Actor, Depends(current_actor)]
ChangesDep = Annotated[ChangeDeps, Depends(change_deps)]
ChangeIdPath = Annotated[ChangeId, Depends(change_id_path)]
DeliveriesDep = Annotated[DeliveryReadModel, Depends(delivery_read_model)]
LedgerDep = Annotated[Ledger, Depends(delivery_ledger)]

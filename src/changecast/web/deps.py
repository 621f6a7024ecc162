"""FastAPI dependencies: the runtime, the signed-in actor, and parsed path ids."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from changecast.access.models import Actor
from changecast.bootstrap import Runtime
from changecast.changes.context import ChangeDeps
from changecast.ids import ChangeId, parse_change_id
from changecast.web.auth.session import COOKIE_NAME, SessionCodec
from changecast.web.errors import NotSignedInError


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_codec(request: Request) -> SessionCodec:
    codec: SessionCodec = request.app.state.session_codec
    return codec


def current_actor(request: Request) -> Actor:
    """The signed-in user; remembers a refresh for the middleware to set."""
    codec = get_codec(request)
    token = request.cookies.get(COOKIE_NAME)
    data = codec.decode(token) if token else None
    if data is None:
        raise NotSignedInError("sign in first: no valid session")
    actor = data.actor()
    if codec.needs_refresh(data):
        request.state.refresh_actor = actor
    return actor


def change_deps(request: Request) -> ChangeDeps:
    return get_runtime(request).changes


def change_id_path(change_id: str) -> ChangeId:
    return parse_change_id(change_id)


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
CurrentActor = Annotated[Actor, Depends(current_actor)]
ChangesDep = Annotated[ChangeDeps, Depends(change_deps)]
ChangeIdPath = Annotated[ChangeId, Depends(change_id_path)]

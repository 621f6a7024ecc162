"""``Authorization: Bearer cc_…``: the actor of an API token, re-checked on every request."""

from __future__ import annotations

import structlog

from changecast.access.models import Actor
from changecast.access.tokens import TokenStore, authenticate
from changecast.ports import Clock
from changecast.web.errors import NotSignedInError

log = structlog.get_logger()


def bearer_actor(header: str, *, store: TokenStore, clock: Clock) -> Actor:
    """The token's owner with the role it was created with; unknown or revoked tokens are 401."""
    scheme, _, secret = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise NotSignedInError("use Authorization: Bearer <token>")
    token = authenticate(store=store, secret=secret.strip(), clock=clock)
    if token is None:
        log.info("api_token_refused")
        raise NotSignedInError("the API token is unknown, expired or revoked")
    return token.actor()

"""``Authorization: Bearer cc_…``: the actor of an API token, re-checked on every request."""

from __future__ import annotations

import structlog

from changecast.access.models import Actor
from changecast.access.tokens import TokenEndedError, TokenStore, authenticate
from changecast.access.users import UserStore
from changecast.ports import Clock
from changecast.web.errors import NotSignedInError

log = structlog.get_logger()


def bearer_actor(header: str, *, store: TokenStore, users: UserStore, clock: Clock) -> Actor:
    """The token's owner with their current role and customers, capped by the token's ceiling.

    Unknown, revoked or expired tokens are 401, and so is a token whose owner was removed (or
    demoted to a role the token cannot narrow to).
    """
    scheme, _, secret = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise NotSignedInError("use Authorization: Bearer <token>")
    token = authenticate(store=store, secret=secret.strip(), clock=clock)
    if token is None:
        log.info("api_token_refused")
        raise NotSignedInError("the API token is unknown, expired or revoked")
    try:
        return token.actor(users.get(token.email))
    except TokenEndedError as exc:
        log.info("api_token_owner_refused", token_id=token.token_id, reason=str(exc))
        raise NotSignedInError(f"the API token no longer works: {exc}") from None

"""Signed, expiring session cookies (itsdangerous), with a sliding refresh and an absolute limit.

Each session has a random id: CSRF tokens are derived from it, and sign-out ends it server-side.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.responses import Response

from changecast.access.models import Actor, Role

COOKIE_NAME = "changecast_session"


class SessionData(BaseModel):
    """What the cookie carries: who, with which role and customers, and when it was issued."""

    model_config = ConfigDict(frozen=True)

    email: str
    name: str = ""
    role: Role
    customers: list[str] = []
    issued: float
    sid: str = Field(min_length=16, max_length=64)
    started: float

    def actor(self) -> Actor:
        return Actor(
            email=self.email,
            display_name=self.name,
            role=self.role,
            customers=frozenset(self.customers),
        )


@dataclass(frozen=True)
class SessionCodec:
    """Signs and checks session cookies; ``max_age`` is the idle expiry.

    ``absolute_max_age`` ends a session that long after sign-in, however often it was refreshed.
    """

    secret: str
    max_age: int
    secure: bool
    absolute_max_age: int = 24 * 3600

    def _serializer(self) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(self.secret, salt="changecast-session")

    def new_session(self, actor: Actor) -> SessionData:
        now = time.time()
        return SessionData(
            email=actor.email,
            name=actor.display_name,
            role=actor.role,
            customers=sorted(actor.customers),
            issued=now,
            sid=secrets.token_urlsafe(24),
            started=now,
        )

    def encode(self, data: SessionData) -> str:
        return self._serializer().dumps(data.model_dump(mode="json"))

    def decode(self, token: str) -> SessionData | None:
        """The session in ``token``, or None when it is forged, malformed or expired."""
        try:
            raw = self._serializer().loads(token, max_age=self.max_age)
        except (BadSignature, SignatureExpired):
            return None
        try:
            data = SessionData.model_validate(raw)
        except ValidationError:
            return None
        if time.time() - data.started > self.absolute_max_age:
            return None
        return data

    def needs_refresh(self, data: SessionData) -> bool:
        """Refresh once half the idle time has passed, so active users stay signed in."""
        return time.time() - data.issued > self.max_age / 2

    def refreshed(self, data: SessionData) -> SessionData:
        """The same session (id, start) issued now."""
        return data.model_copy(update={"issued": time.time()})

    def ends_at(self, data: SessionData) -> float:
        """When the cookie stops being accepted, at the latest."""
        return min(data.issued + self.max_age, data.started + self.absolute_max_age)

    def set_cookie(self, response: Response, actor: Actor | SessionData) -> SessionData:
        """Set a session cookie: a new session for an Actor, or the given (refreshed) one."""
        data = self.new_session(actor) if isinstance(actor, Actor) else actor
        response.set_cookie(
            COOKIE_NAME,
            self.encode(data),
            max_age=self.max_age,
            httponly=True,
            secure=self.secure,
            samesite="lax",
            path="/",
        )
        return data

    def clear_cookie(self, response: Response) -> None:
        response.delete_cookie(COOKIE_NAME, path="/", secure=self.secure, httponly=True)

"""Signed, expiring session cookies (itsdangerous), with a sliding refresh."""

from __future__ import annotations

import time
from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from pydantic import BaseModel, ConfigDict, ValidationError
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

    def actor(self) -> Actor:
        return Actor(
            email=self.email,
            display_name=self.name,
            role=self.role,
            customers=frozenset(self.customers),
        )


@dataclass(frozen=True)
class SessionCodec:
    """Signs and checks session cookies; ``max_age`` is the idle expiry."""

    secret: str
    max_age: int
    secure: bool

    def _serializer(self) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(self.secret, salt="changecast-session")

    def encode(self, actor: Actor) -> str:
        data = SessionData(
            email=actor.email,
            name=actor.display_name,
            role=actor.role,
            customers=sorted(actor.customers),
            issued=time.time(),
        )
        return self._serializer().dumps(data.model_dump(mode="json"))

    def decode(self, token: str) -> SessionData | None:
        """The session in ``token``, or None when it is forged, malformed or expired."""
        try:
            raw = self._serializer().loads(token, max_age=self.max_age)
        except (BadSignature, SignatureExpired):
            return None
        try:
            return SessionData.model_validate(raw)
        except ValidationError:
            return None

    def needs_refresh(self, data: SessionData) -> bool:
        """Refresh once half the idle time has passed, so active users stay signed in."""
        return time.time() - data.issued > self.max_age / 2

    def set_cookie(self, response: Response, actor: Actor) -> None:
        response.set_cookie(
            COOKIE_NAME,
            self.encode(actor),
            max_age=self.max_age,
            httponly=True,
            secure=self.secure,
            samesite="lax",
            path="/",
        )

    def clear_cookie(self, response: Response) -> None:
        response.delete_cookie(COOKIE_NAME, path="/", secure=self.secure, httponly=True)

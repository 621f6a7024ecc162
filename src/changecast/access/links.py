"""Signed one-click links: HMAC-SHA256 over a purpose, bound fields and an expiry; used once.

A link token is ``base64url(payload) "." base64url(mac)``; the payload is canonical JSON of the
purpose, the bound fields and the expiry (Unix seconds). Each purpose has its own key, derived
from the server secret, so a token made for one purpose never verifies for another. Tokens are
compared in constant time, and only their canonical encoding is accepted (a changed character
always fails, even one in base64's unused low bits). Single use is an object in the store,
written with ``If-None-Match: *``: the second writer gets ``LinkUsedError``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from changecast.errors import ConflictError, InvalidInputError
from changecast.ports import ObjectStore

TOKEN_MAX = 2_048
MIN_SECRET = 32
_B64URL = re.compile(r"^[A-Za-z0-9_-]+$")
_PURPOSE = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
_KEY_LABEL = b"changecast/links/v1/"


class LinkError(InvalidInputError):
    """A link that cannot be honoured; ``reason`` says why (for the page a person reads)."""

    reason = "invalid"


class LinkInvalidError(LinkError):
    """Not a token we signed for this purpose: malformed, tampered or for another purpose."""

    reason = "invalid"


class LinkExpiredError(LinkError):
    """A genuine token past its expiry."""

    reason = "expired"


class LinkUsedError(ConflictError):
    """A genuine token whose single use already happened."""

    reason = "used"


@dataclass(frozen=True)
class LinkClaims:
    """What a verified token says: its purpose, bound fields and expiry."""

    purpose: str
    fields: Mapping[str, str]
    expires_at: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    """Strict base64url without padding: anything but the canonical encoding is refused."""
    if not text or not _B64URL.match(text):
        raise LinkInvalidError("the link is not valid")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise LinkInvalidError("the link is not valid") from None
    if _b64(data) != text:
        raise LinkInvalidError("the link is not valid")
    return data


def _payload(purpose: str, fields: Mapping[str, str], expires: int) -> bytes:
    body = {"p": purpose, "f": dict(fields), "e": expires}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


class LinkSigner:
    """Signs and verifies link tokens with keys derived per purpose from one server secret."""

    def __init__(self, secret: str | bytes) -> None:
        raw = secret.encode() if isinstance(secret, str) else secret
        if len(raw) < MIN_SECRET:
            raise InvalidInputError(f"the link secret must be at least {MIN_SECRET} characters")
        self._secret = raw

    def _key(self, purpose: str) -> bytes:
        if not _PURPOSE.match(purpose):
            raise ValueError(f"bad link purpose {purpose[:40]!r}")
        return hmac.new(self._secret, _KEY_LABEL + purpose.encode(), hashlib.sha256).digest()

    def sign(self, purpose: str, fields: Mapping[str, str], *, expires_at: datetime) -> str:
        """A token binding ``fields`` to ``purpose`` until ``expires_at`` (whole seconds)."""
        expires = int(expires_at.astimezone(UTC).timestamp())
        payload = _payload(purpose, fields, expires)
        mac = hmac.new(self._key(purpose), payload, hashlib.sha256).digest()
        token = f"{_b64(payload)}.{_b64(mac)}"
        if len(token) > TOKEN_MAX:
            raise InvalidInputError("the bound fields are too long for a link")
        return token

    def verify(self, purpose: str, token: str, *, now: datetime) -> LinkClaims:
        """The claims of a genuine, unexpired ``token`` made for ``purpose``; else a LinkError.

        The signature is checked before anything in the payload is believed, and before the
        expiry is looked at: a tampered token is "invalid", never "expired".
        """
        if not isinstance(token, str) or len(token) > TOKEN_MAX or token.count(".") != 1:
            raise LinkInvalidError("the link is not valid")
        encoded, sent_mac = token.split(".")
        payload, mac = _unb64(encoded), _unb64(sent_mac)
        expected = hmac.new(self._key(purpose), payload, hashlib.sha256).digest()
        if not hmac.compare_digest(mac, expected):
            raise LinkInvalidError("the link is not valid")
        claims = _claims(payload)
        if claims.purpose != purpose:  # cannot happen with a per-purpose key; kept as a guard
            raise LinkInvalidError("the link is not valid")
        if now.astimezone(UTC) >= claims.expires_at:
            raise LinkExpiredError("the link has expired")
        return claims


def _claims(payload: bytes) -> LinkClaims:
    try:
        body = json.loads(payload)
        purpose, fields, expires = body["p"], body["f"], body["e"]
    except (ValueError, KeyError, TypeError):
        raise LinkInvalidError("the link is not valid") from None
    if not (
        isinstance(purpose, str)
        and isinstance(expires, int)
        and isinstance(fields, dict)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in fields.items())
    ):
        raise LinkInvalidError("the link is not valid")
    return LinkClaims(
        purpose=purpose, fields=fields, expires_at=datetime.fromtimestamp(expires, tz=UTC)
    )


def use_once(store: ObjectStore, marker_key: str, record: bytes) -> None:
    """Write the link's single-use marker (its record); ``LinkUsedError`` if it exists already."""
    try:
        store.put(marker_key, record, if_none_match=True)
    except ConflictError:
        raise LinkUsedError("this link was already used", key=marker_key) from None


def recipient_hash(address: str) -> str:
    """A stable, key-safe name for an email address (S3 keys never hold the address itself)."""
    return hashlib.sha256(address.strip().lower().encode()).hexdigest()[:32]

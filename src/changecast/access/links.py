"""Sealed one-click links: a purpose, bound fields and an expiry, encrypted and authenticated.

A link token is ``base64url(nonce || AES-256-GCM(payload))``: the payload, canonical JSON of
the purpose, the bound fields and the expiry (Unix seconds), is encrypted, so a link carries
only an opaque reference to its recipient (and change), never the address readably; the GCM tag
authenticates it, so the portal still resolves exactly who answered. Each purpose has its own
key, derived from the server secret, so a token made for one purpose never opens for another.
Only the canonical encoding is accepted (a changed character always fails, even one in base64's
unused low bits). Single use is an object in the store, written with ``If-None-Match: *``: the
second writer gets ``LinkUsedError``.

Links made before sealing (``base64url(payload) "." base64url(HMAC-SHA256)``, the payload in
clear) are still **accepted** until they expire (at most the sign-off TTL, 30 days for surveys):
they were signed by us, and refusing them would break approval requests and surveys already in
inboxes without hiding any address they already show. Every new link is sealed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from changecast.errors import ConflictError, InvalidInputError
from changecast.ports import ObjectStore

if TYPE_CHECKING:  # imported where a link is sealed or opened: most processes make none
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

TOKEN_MAX = 2_048
MIN_SECRET = 32
_B64URL = re.compile(r"^[A-Za-z0-9_-]+$")
_PURPOSE = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
_KEY_LABEL = b"changecast/links/v1/"
_SEAL_LABEL = b"changecast/links/v2/seal/"
_NONCE = 12
_TAG = 16


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
        """The HMAC key of the links made before sealing (still verified until they expire)."""
        if not _PURPOSE.match(purpose):
            raise ValueError(f"bad link purpose {purpose[:40]!r}")
        return hmac.new(self._secret, _KEY_LABEL + purpose.encode(), hashlib.sha256).digest()

    def _seal_key(self, purpose: str) -> AESGCM:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        if not _PURPOSE.match(purpose):
            raise ValueError(f"bad link purpose {purpose[:40]!r}")
        return AESGCM(hmac.new(self._secret, _SEAL_LABEL + purpose.encode(), "sha256").digest())

    def sign(self, purpose: str, fields: Mapping[str, str], *, expires_at: datetime) -> str:
        """A sealed token binding ``fields`` to ``purpose`` until ``expires_at`` (whole seconds).

        Nothing in it is readable without the server secret (a fresh random nonce each time).
        """
        expires = int(expires_at.astimezone(UTC).timestamp())
        payload = _payload(purpose, fields, expires)
        nonce = os.urandom(_NONCE)
        sealed = self._seal_key(purpose).encrypt(nonce, payload, purpose.encode())
        token = _b64(nonce + sealed)
        if len(token) > TOKEN_MAX:
            raise InvalidInputError("the bound fields are too long for a link")
        return token

    def verify(self, purpose: str, token: str, *, now: datetime) -> LinkClaims:
        """The claims of a genuine, unexpired ``token`` made for ``purpose``; else a LinkError.

        The token is authenticated (the GCM tag, or an old link's HMAC) before anything in it is
        believed, and before the expiry is looked at: a tampered token is "invalid", never
        "expired".
        """
        if not isinstance(token, str) or len(token) > TOKEN_MAX:
            raise LinkInvalidError("the link is not valid")
        if "." in token:
            payload = self._legacy_payload(purpose, token)
        else:
            payload = self._opened(purpose, token)
        claims = _claims(payload)
        if claims.purpose != purpose:  # cannot happen with a per-purpose key; kept as a guard
            raise LinkInvalidError("the link is not valid")
        if now.astimezone(UTC) >= claims.expires_at:
            raise LinkExpiredError("the link has expired")
        return claims

    def _opened(self, purpose: str, token: str) -> bytes:
        from cryptography.exceptions import InvalidTag

        data = _unb64(token)
        if len(data) < _NONCE + _TAG:
            raise LinkInvalidError("the link is not valid")
        try:
            return self._seal_key(purpose).decrypt(data[:_NONCE], data[_NONCE:], purpose.encode())
        except InvalidTag:
            raise LinkInvalidError("the link is not valid") from None

    def _legacy_payload(self, purpose: str, token: str) -> bytes:
        """A link made before sealing: its HMAC checked in constant time, then its payload."""
        if token.count(".") != 1:
            raise LinkInvalidError("the link is not valid")
        encoded, sent_mac = token.split(".")
        payload, mac = _unb64(encoded), _unb64(sent_mac)
        expected = hmac.new(self._key(purpose), payload, hashlib.sha256).digest()
        if not hmac.compare_digest(mac, expected):
            raise LinkInvalidError("the link is not valid")
        return payload


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

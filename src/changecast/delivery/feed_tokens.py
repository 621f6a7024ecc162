"""Each customer's secret calendar-feed token, kept at ``feeds/{code}/token.json``; rotatable.

The token is random (32 bytes, base64url), made on first use and replaced by ``rotate``; a feed
request is answered only when its token matches in constant time. A long-lived process (the
portal) keeps the tokens it showed for ``cache_seconds``, so a page listing many customers' feed
links reads no object per customer; ``matches`` always reads the bucket (a rotation takes effect
at once there, and a rotation by another process shows on pages within ``cache_seconds``).
"""

from __future__ import annotations

import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from changecast import layout
from changecast.errors import ConflictError, NotFoundError
from changecast.ids import parse_customer_code
from changecast.ports import Clock, ObjectStore

TOKEN_MAX = 100
CACHE_SECONDS = 60.0
"""How long the portal shows a token without reading it again (``Runtime.feed_tokens``)."""
READERS = 8
"""Tokens not in the cache are read this many at a time (a page naming 30 customers)."""


def feed_token_key(customer_code: str) -> str:
    return layout.feed_token_key(parse_customer_code(customer_code))


class FeedTokens:
    """Reads, makes and rotates the feed tokens in the bucket."""

    def __init__(
        self,
        store: ObjectStore,
        clock: Clock,
        *,
        cache_seconds: float = 0.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.clock = clock
        self.cache_seconds = cache_seconds
        self._monotonic = monotonic
        self._cached: dict[str, tuple[str, float]] = {}  # code -> (token, monotonic expiry)
        self._lock = threading.Lock()

    def _remember(self, customer_code: str, token: str) -> str:
        if self.cache_seconds > 0:
            with self._lock:
                self._cached[customer_code] = (token, self._monotonic() + self.cache_seconds)
        return token

    def _recalled(self, customer_code: str) -> str | None:
        with self._lock:
            found = self._cached.get(customer_code)
        return found[0] if found is not None and found[1] > self._monotonic() else None

    def _read(self, customer_code: str) -> str | None:
        try:
            body = json.loads(self.store.get(feed_token_key(customer_code)).body)
        except NotFoundError:
            return None
        token = body.get("token") if isinstance(body, dict) else None
        return token if isinstance(token, str) and token else None

    def _body(self, token: str, by: str) -> bytes:
        at: datetime = self.clock.now()
        return json.dumps({"token": token, "rotatedAt": at.isoformat(), "rotatedBy": by}).encode()

    def current(self, customer_code: str, *, by: str = "changecast") -> str:
        """The customer's token, made (once, even under races) when there is none yet."""
        recalled = self._recalled(customer_code)
        if recalled is not None:
            return recalled
        found = self._read(customer_code)
        if found is not None:
            return self._remember(customer_code, found)
        token = secrets.token_urlsafe(32)
        try:
            self.store.put(feed_token_key(customer_code), self._body(token, by), if_none_match=True)
        except ConflictError:  # another process made it first: use theirs
            return self._remember(customer_code, self._read(customer_code) or token)
        return self._remember(customer_code, token)

    def current_many(self, customer_codes: Iterable[str]) -> dict[str, str]:
        """``current`` of each customer; those not cached are read ``READERS`` at a time."""
        codes = list(dict.fromkeys(customer_codes))
        found = {code: token for code in codes if (token := self._recalled(code)) is not None}
        missing = [code for code in codes if code not in found]
        if len(missing) > 1:
            with ThreadPoolExecutor(max_workers=min(READERS, len(missing))) as pool:
                found.update(zip(missing, pool.map(self.current, missing), strict=True))
        else:
            found.update((code, self.current(code)) for code in missing)
        return {code: found[code] for code in codes}

    def rotate(self, customer_code: str, *, by: str) -> str:
        """A new token; the old feed URL stops working at once."""
        token = secrets.token_urlsafe(32)
        self.store.put(feed_token_key(customer_code), self._body(token, by))
        return self._remember(customer_code, token)

    def matches(self, customer_code: str, presented: str) -> bool:
        """Whether ``presented`` is the customer's token (False when it has none)."""
        if not presented or len(presented) > TOKEN_MAX:
            return False
        expected = self._read(customer_code)
        if expected is None:
            return False
        return hmac.compare_digest(presented.encode(), expected.encode())


def webcal_url(portal_base_url: str, customer_code: str, token: str) -> str:
    """The feed as calendar apps subscribe to it: ``webcal://{host}/calendar/{code}.ics?token=``."""
    host = portal_base_url.rstrip("/").split("://", 1)[-1]
    return f"webcal://{host}/calendar/{parse_customer_code(customer_code)}.ics?token={token}"

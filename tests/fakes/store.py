"""An in-memory ObjectStore with S3's conditional-write semantics."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator

from changecast.errors import ConflictError, NotFoundError, UpstreamError
from changecast.ports import StoredObject


class StoreCrash(Exception):
    """Raised by a put after ``crash_after``: the writer stops there, as if it had been killed."""


class MemoryObjectStore:
    """Keys to bytes, with quoted-MD5 ETags like S3's single-part uploads."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.puts: list[str] = []
        self.fail_keys: set[str] = set()
        self.writes_left: int | None = None
        """With ``crash_after(n)``: how many more puts succeed before every put crashes."""
        self._lock = threading.Lock()

    def crash_after(self, writes: int) -> None:
        """Let ``writes`` more puts succeed, then raise ``StoreCrash`` on each put."""
        self.writes_left = writes

    def recover(self) -> None:
        """Stop crashing (the process was restarted)."""
        self.writes_left = None

    @staticmethod
    def _etag(body: bytes) -> str:
        return f'"{hashlib.md5(body, usedforsecurity=False).hexdigest()}"'

    def get(self, key: str) -> StoredObject:
        with self._lock:
            if key not in self.objects:
                raise NotFoundError(f"no object at {key}", key=key)
            body = self.objects[key]
        return StoredObject(key=key, body=body, etag=self._etag(body))

    def put(
        self,
        key: str,
        body: bytes,
        *,
        if_none_match: bool = False,
        if_match: str | None = None,
        content_type: str = "application/json",
    ) -> str:
        del content_type
        with self._lock:
            if key in self.fail_keys:
                raise UpstreamError(f"injected failure writing {key}", retryable=True)
            if self.writes_left is not None:
                if self.writes_left <= 0:
                    raise StoreCrash(f"crashed before writing {key}")
                self.writes_left -= 1
            current = self.objects.get(key)
            if if_none_match and current is not None:
                raise ConflictError(f"{key} already exists", key=key)
            if if_match is not None:
                if current is None:
                    raise ConflictError(f"{key} no longer exists", key=key)
                if self._etag(current).strip('"') != if_match.strip('"'):  # S3 ignores quotes
                    raise ConflictError(f"{key} changed", key=key)
            self.objects[key] = body
            self.puts.append(key)
        return self._etag(body)

    def delete(self, key: str) -> None:
        with self._lock:
            self.objects.pop(key, None)

    def exists(self, key: str) -> bool:
        with self._lock:
            return key in self.objects

    def list_keys(self, prefix: str) -> Iterator[str]:
        with self._lock:
            keys = sorted(k for k in self.objects if k.startswith(prefix))
        yield from keys

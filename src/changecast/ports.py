"""The ports (typing.Protocol) domain code uses; adapters in aws/ and index/ implement them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """Where time comes from. Always timezone-aware UTC."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(frozen=True)
class StoredObject:
    """One object read from the object store, with the ETag to make conditional writes against."""

    key: str
    body: bytes
    etag: str


class ObjectStore(Protocol):
    """A bucket. Conditional writes raise ``ConflictError`` when their precondition fails."""

    def get(self, key: str) -> StoredObject:
        """Read one object; ``NotFoundError`` when it is absent."""
        ...

    def put(
        self,
        key: str,
        body: bytes,
        *,
        if_none_match: bool = False,
        if_match: str | None = None,
        content_type: str = "application/json",
    ) -> str:
        """Write one object and return its ETag.

        ``if_none_match`` refuses to overwrite an existing key; ``if_match`` refuses unless the
        current ETag equals the one given. Either refusal is a ``ConflictError``.
        """
        ...

    def delete(self, key: str) -> None:
        """Delete one object; deleting an absent key is not an error."""
        ...

    def exists(self, key: str) -> bool:
        """Whether the key exists."""
        ...

    def list_keys(self, prefix: str) -> Iterator[str]:
        """Every key under ``prefix``, in key order, across all pages."""
        ...


class DatabaseCredentials(Protocol):
    """Where the index's user and password come from (the RDS-managed secret, rotated by RDS)."""

    def current(self) -> tuple[str, str]:
        """``(user, password)``, from a cache after the first read."""
        ...

    def refreshed(self) -> tuple[str, str]:
        """``(user, password)`` read again, bypassing the cache (the server refused the old)."""
        ...

"""The S3 layout of the system of record: drafts, immutable archived versions, the latest pointer.

| key | meaning |
|---|---|
| ``drafts/{id}.json`` | working copy, never triggers mail |
| ``archive/YYYY/MM/DD/{id}-v{n}.json`` | immutable version n, dated by the change's creation |
| ``archive/latest/{id}.json`` | the current version with its status and history |

All versions of one change share the folder of its creation date (as in the seeds' example), so a
version's key is known from the latest pointer alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError

from changecast.changes.models import Change
from changecast.errors import ConflictError, UnreadableDocumentError, problems_from_pydantic
from changecast.ids import ChangeId, parse_change_id
from changecast.layout import (
    ARCHIVE,
    DRAFT_KEY,
    DRAFTS,
    LATEST,
    LATEST_KEY,
    VERSION_KEY,
    draft_key,
    latest_key,
    version_key,
)
from changecast.ports import ObjectStore


@dataclass(frozen=True)
class Versioned:
    """A document together with the ETag it was read at."""

    change: Change
    etag: str


def decode(key: str, body: bytes) -> Change:
    """Parse a stored document; a corrupt one is an upstream problem, not the user's input."""
    try:
        return Change.model_validate_json(body)
    except ValidationError as exc:
        problems = "; ".join(
            f"{p.field}: {p.problem}" for p in problems_from_pydantic(exc.errors())
        )
        raise UnreadableDocumentError(
            f"stored document {key} does not load: {problems[:500]}", key=key
        ) from None


class ChangeArchive:
    """Reads and writes change documents in the object store with the layout above."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store

    # drafts
    def get_draft(self, change_id: ChangeId) -> Versioned:
        obj = self.store.get(draft_key(change_id))
        return Versioned(decode(obj.key, obj.body), obj.etag)

    def put_draft(self, change: Change, *, etag: str | None) -> str:
        """Create (``etag=None``) or replace a draft; a stale ``etag`` is a ``ConflictError``."""
        key = draft_key(ChangeId(change.change_id))
        return self.store.put(key, change.to_bytes(), if_none_match=etag is None, if_match=etag)

    def delete_draft(self, change_id: ChangeId) -> None:
        self.store.delete(draft_key(change_id))

    def draft_owner(self, change_id: ChangeId) -> tuple[str, list[str]]:
        """``createdBy`` and the customer codes of a draft that does not load, read loosely.

        What cannot be read comes back empty (so only the rule for customer-less drafts applies).
        """
        body = self.store.get(draft_key(change_id)).body
        try:
            raw = json.loads(body)
        except (ValueError, RecursionError):
            return "", []
        if not isinstance(raw, dict):
            return "", []
        created_by = raw.get("createdBy")
        metadata = raw.get("changeMetadata")
        codes = metadata.get("customerCodes") if isinstance(metadata, dict) else None
        return (
            created_by if isinstance(created_by, str) else "",
            [c for c in codes if isinstance(c, str)] if isinstance(codes, list) else [],
        )

    # versions and the latest pointer
    def write_version(self, change: Change) -> str:
        """Write an immutable version. Writing a version twice is a ``ConflictError``."""
        key = version_key(ChangeId(change.change_id), change.created_at, change.version)
        try:
            self.store.put(key, change.to_bytes(), if_none_match=True)
        except ConflictError:
            raise ConflictError(
                f"version {change.version} of change {change.change_id} already exists; "
                "reload the change and edit the latest version",
                change_id=change.change_id,
                version=change.version,
            ) from None
        return key

    def get_latest(self, change_id: ChangeId) -> Versioned:
        obj = self.store.get(latest_key(change_id))
        return Versioned(decode(obj.key, obj.body), obj.etag)

    def put_latest(self, change: Change, *, etag: str | None) -> str:
        """Move the latest pointer: create it (``etag=None``) or replace it only at ``etag``."""
        try:
            return self.store.put(
                latest_key(ChangeId(change.change_id)),
                change.to_bytes(),
                if_none_match=etag is None,
                if_match=etag,
            )
        except ConflictError:
            raise ConflictError(
                f"change {change.change_id} was changed by someone else meanwhile; reload it",
                change_id=change.change_id,
            ) from None

    def get_version(self, change_id: ChangeId, created_at: datetime, version: int) -> Change:
        obj = self.store.get(version_key(change_id, created_at, version))
        return decode(obj.key, obj.body)

    # listings (for the index rebuild)
    def latest_ids(self) -> Iterator[ChangeId]:
        for key in self.store.list_keys(LATEST):
            match = LATEST_KEY.match(key)
            if match:
                yield parse_change_id(match.group(1))

    def draft_ids(self) -> Iterator[ChangeId]:
        for key in self.store.list_keys(DRAFTS):
            match = DRAFT_KEY.match(key)
            if match:
                yield parse_change_id(match.group(1))

    def version_keys(self) -> Iterator[str]:
        for key in self.store.list_keys(ARCHIVE):
            if VERSION_KEY.match(key):
                yield key

    def read(self, key: str) -> Change:
        obj = self.store.get(key)
        return decode(obj.key, obj.body)

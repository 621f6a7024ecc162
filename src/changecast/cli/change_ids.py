"""Change ids as people type them: the whole UUID, or a unique prefix of at least 8 hex digits."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from changecast.errors import InvalidInputError, NotFoundError
from changecast.ids import ChangeId, parse_change_id
from changecast.layout import DRAFTS, LATEST

if TYPE_CHECKING:
    from changecast.bootstrap import Runtime

MIN_PREFIX = 8
PREFIX = re.compile(r"^[0-9a-f]{8}[0-9a-f-]{0,27}$")
"""The start of a canonical UUID: 8 hex digits or more (with or without its dashes)."""
SHOWN = 10


def resolve_change_id(runtime: Runtime, raw: str) -> ChangeId:
    """The change id ``raw`` names: a full id as is, a prefix when it matches exactly one.

    A prefix is looked up among the bucket's latest versions and drafts (an S3 prefix
    listing: as cheap at 100k changes as at ten). An ambiguous prefix lists the candidates.
    """
    text = raw.strip().lower()
    if len(text) == 36 or not PREFIX.match(text):
        return parse_change_id(raw)  # a full id, or its own clear error
    prefix = _canonical_start(text)
    found = sorted(
        {
            key.rsplit("/", 1)[-1].removesuffix(".json")
            for base in (LATEST, DRAFTS)
            for key in runtime.store.list_keys(base + prefix)
            if key.endswith(".json")
        }
    )
    if not found:
        raise NotFoundError(f"no change id starts with {prefix}", field="changeId")
    if len(found) > 1:
        listed = ", ".join(found[:SHOWN]) + (
            f" and {len(found) - SHOWN} more" if len(found) > SHOWN else ""
        )
        raise InvalidInputError(
            f"change id prefix {prefix} is ambiguous: it starts {listed}; give more characters",
            field="changeId",
        )
    return parse_change_id(found[0])


def _canonical_start(text: str) -> str:
    """``3f2504e04f89`` → ``3f2504e0-4f89``: a prefix typed without dashes, as ids spell it."""
    if "-" in text:
        return text
    start, rest = text[:8], text[8:]
    for size in (4, 4, 4, 12):
        if not rest:
            break
        start, rest = f"{start}-{rest[:size]}", rest[size:]
    return start

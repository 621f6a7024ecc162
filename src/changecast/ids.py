"""Identifier types and their validation, applied before any id becomes part of an S3 key."""

from __future__ import annotations

import re
import uuid
from typing import NewType

from changecast.errors import InvalidInputError, MalformedInputError

ChangeId = NewType("ChangeId", str)
CustomerCode = NewType("CustomerCode", str)

CUSTOMER_CODE_PATTERN = r"^[a-z0-9][a-z0-9-]{0,31}$"
_CUSTOMER_CODE = re.compile(CUSTOMER_CODE_PATTERN)


def parse_change_id(raw: str) -> ChangeId:
    """Accept only a canonical, lowercase UUID (what we generate); anything else is refused."""
    try:
        parsed = uuid.UUID(raw)
    except (ValueError, AttributeError, TypeError):
        raise MalformedInputError(
            f"change id {raw[:64]!r} is not a UUID", field="changeId"
        ) from None
    if str(parsed) != raw.lower() or len(raw) != 36:
        raise MalformedInputError(
            f"change id {raw[:64]!r} is not a canonical UUID", field="changeId"
        )
    return ChangeId(str(parsed))


def new_change_id() -> ChangeId:
    """A fresh random change id."""
    return ChangeId(str(uuid.uuid4()))


def parse_customer_code(raw: str) -> CustomerCode:
    """Customer codes are short lowercase slugs: ``[a-z0-9][a-z0-9-]{0,31}``."""
    if not isinstance(raw, str) or not _CUSTOMER_CODE.match(raw):
        raise InvalidInputError(
            f"customer code {str(raw)[:40]!r} must be 1-32 lowercase letters, digits or '-'",
            field="customer",
        )
    return CustomerCode(raw)

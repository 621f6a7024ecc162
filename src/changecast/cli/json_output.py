"""The CLI's ``--output json`` casing: camelCase keys, like the API and the change documents.

Models with an alias generator are dumped by alias, as the API serves them; every other key
that is a snake_case name (``wall_seconds``) becomes camelCase (``wallSeconds``). Keys that are
data rather than names (an email address, a topic such as ``aws-approval``) are left alone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel
from pydantic.alias_generators import to_camel

_SNAKE_NAME = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)+$")


def camel_key(key: str) -> str:
    """``wall_seconds`` → ``wallSeconds``; anything that is not a snake_case name is kept."""
    return to_camel(key) if _SNAKE_NAME.match(key) else key


def camel_json(value: Any) -> Any:
    """``value`` as JSON-ready data with camelCase keys (models by alias, or camelized)."""
    if isinstance(value, BaseModel):
        dumped = value.model_dump(mode="json", by_alias=True, exclude_none=True)
        return dumped if value.model_config.get("alias_generator") else camel_json(dumped)
    if isinstance(value, Mapping):
        return {camel_key(k) if isinstance(k, str) else k: camel_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [camel_json(item) for item in value]
    return value

"""How deep a JSON text nests, measured without recursing in Python.

Request bodies and input files are bounded by it before anything else parses them: Python's json
and pydantic recurse, and give up at about 1,000 and 200 levels with errors nobody maps.
"""

from __future__ import annotations

from typing import Any

import pydantic_core

MAX_JSON_DEPTH = 32
"""Objects and arrays inside each other; a change document needs 3."""


def json_depth(value: Any, *, stop_at: int) -> int:
    """How deep objects and arrays nest in a parsed JSON value (a scalar is 0).

    Stops once past ``stop_at``; iterative, so no document can exhaust the stack.
    """
    deepest = 0
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        depth += 1
        deepest = max(deepest, depth)
        if deepest > stop_at:
            return deepest
        pending.extend((child, depth) for child in children)
    return deepest


def too_deep(body: bytes, max_depth: int) -> bool:
    """Whether a JSON body nests deeper than ``max_depth``; a body that is not JSON is not.

    pydantic-core's parser refuses more than 200 levels itself, without recursing in Python.
    """
    try:
        parsed = pydantic_core.from_json(body)
    except ValueError as exc:
        return "recursion limit" in str(exc)
    depth: int = json_depth(parsed, stop_at=max_depth)
    return depth > max_depth

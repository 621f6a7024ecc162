"""Which fields an edit changed: JSON paths of differing leaves between two documents."""

from __future__ import annotations

from typing import Any

BOOKKEEPING = frozenset(
    {
        "changeId",
        "version",
        "status",
        "createdAt",
        "createdBy",
        "modifiedAt",
        "modifiedBy",
        "history",
    }
)
"""Fields every action moves; an audit event records what the user changed, not these."""


def changed_paths(
    before: dict[str, Any] | None, after: dict[str, Any], prefix: str = ""
) -> list[str]:
    """Sorted dotted paths whose values differ; lists compare whole (``customerCodes``)."""
    old = before or {}
    paths: list[str] = []
    for key in sorted(set(old) | set(after)):
        if not prefix and key in BOOKKEEPING:
            continue
        path = f"{prefix}{key}"
        a, b = old.get(key), after.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            paths.extend(changed_paths(a, b, prefix=f"{path}."))
        elif isinstance(b, dict) and a is None:
            paths.extend(changed_paths(None, b, prefix=f"{path}."))
        elif isinstance(a, dict) and b is None:
            paths.extend(changed_paths(None, a, prefix=f"{path}."))
        elif a != b:
            paths.append(path)
    return paths

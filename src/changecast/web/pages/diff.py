"""The portal's version diff: the one in ``changes.version_diff`` (the emails use it too)."""

from __future__ import annotations

from changecast.changes.version_diff import (
    FIELDS,
    FieldDiff,
    LineDiff,
    changed_only,
    diff_documents,
    side_by_side,
)

__all__ = ["FIELDS", "FieldDiff", "LineDiff", "changed_only", "diff_documents", "side_by_side"]

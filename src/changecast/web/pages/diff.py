"""Pure version diff: two change documents as labelled fields, compared side by side."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

FIELDS: list[tuple[str, tuple[str, ...]]] = [
    ("Title", ("changeMetadata", "title")),
    ("Customers", ("changeMetadata", "customerCodes")),
    ("ServiceNow ticket", ("changeMetadata", "tickets", "serviceNow")),
    ("Jira ticket", ("changeMetadata", "tickets", "jira")),
    ("Implementation start", ("changeMetadata", "schedule", "implementationStart")),
    ("Implementation end", ("changeMetadata", "schedule", "implementationEnd")),
    ("Timezone", ("changeMetadata", "schedule", "timezone")),
    ("Reason for the change", ("changeMetadata", "changeReason")),
    ("Implementation plan", ("changeMetadata", "implementationPlan")),
    ("Test plan", ("changeMetadata", "testPlan")),
    ("Expected customer impact", ("changeMetadata", "expectedCustomerImpact")),
    ("Rollback plan", ("changeMetadata", "rollbackPlan")),
    ("Email subject", ("emailNotification", "subject")),
    ("Meeting title", ("meetingInvite", "title")),
    ("Meeting start", ("meetingInvite", "startTime")),
    ("Meeting duration (minutes)", ("meetingInvite", "duration")),
    ("Meeting location", ("meetingInvite", "location")),
]


@dataclass(frozen=True)
class LineDiff:
    """One row of a side-by-side comparison: ``tag`` is equal, replace, delete or insert."""

    tag: str
    left: str
    right: str


@dataclass(frozen=True)
class FieldDiff:
    """One field of the two documents, with its lines compared when it changed."""

    label: str
    before: str
    after: str
    lines: tuple[LineDiff, ...]

    @property
    def changed(self) -> bool:
        return self.before != self.after


def _value(document: dict[str, Any], path: tuple[str, ...]) -> str:
    node: Any = document
    for part in path:
        if not isinstance(node, dict) or part not in node or node[part] is None:
            return ""
        node = node[part]
    if isinstance(node, list):
        return ", ".join(str(item) for item in node)
    return str(node)


def side_by_side(before: str, after: str) -> tuple[LineDiff, ...]:
    """Line-by-line alignment of two texts (difflib opcodes, padded to equal length)."""
    left, right = before.splitlines(), after.splitlines()
    rows: list[LineDiff] = []
    matcher = difflib.SequenceMatcher(a=left, b=right, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        olds, news = left[i1:i2], right[j1:j2]
        for index in range(max(len(olds), len(news))):
            old = olds[index] if index < len(olds) else ""
            new = news[index] if index < len(news) else ""
            rows.append(LineDiff(tag=tag, left=old, right=new))
    return tuple(rows)


def diff_documents(before: dict[str, Any], after: dict[str, Any]) -> list[FieldDiff]:
    """Every labelled field of two camelCase change documents (changed or not), in form order."""
    result = []
    for label, path in FIELDS:
        old, new = _value(before, path), _value(after, path)
        lines = side_by_side(old, new) if old != new else ()
        result.append(FieldDiff(label=label, before=old, after=new, lines=lines))
    return result


def changed_only(diffs: list[FieldDiff]) -> list[FieldDiff]:
    return [item for item in diffs if item.changed]

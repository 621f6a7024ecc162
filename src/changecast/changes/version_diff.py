"""Pure version diff: two change documents as labelled fields, compared side by side.

The one diff of two versions: the portal shows it side by side (``web.pages.diff``), and the
"[Updated]" email lists the same changed fields (``delivery.diff``), short texts as a word diff.
"""

from __future__ import annotations

import difflib
import re
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


@dataclass(frozen=True)
class WordPiece:
    """A run of words in a word diff: ``tag`` is equal, delete or insert; "…" elides the rest."""

    tag: str
    text: str


WORD_DIFF_MAX = 400
"""A word diff longer than this (characters shown) is not short: say "changed" and link."""
_TOKENS = re.compile(r"\S+\s*")


def _words(text: str) -> list[str]:
    return _TOKENS.findall(" ".join(text.split()))


def word_diff(
    before: str, after: str, *, context: int = 4, limit: int = WORD_DIFF_MAX
) -> tuple[WordPiece, ...] | None:
    """The words that changed, with ``context`` words around each; None when it is not short.

    Whitespace is normalised (line breaks count as spaces). Unchanged runs longer than twice
    ``context`` are cut to their ends with "…" between.
    """
    left, right = _words(before), _words(after)
    pieces: list[WordPiece] = []
    matcher = difflib.SequenceMatcher(a=left, b=right, autojunk=False)
    opcodes = matcher.get_opcodes()
    for index, (tag, i1, i2, j1, j2) in enumerate(opcodes):
        if tag == "equal":
            words = left[i1:i2]
            head = words[:context] if index > 0 else []
            tail = words[-context:] if index < len(opcodes) - 1 else []
            if len(words) <= len(head) + len(tail) or (index > 0 and len(words) <= 2 * context):
                pieces.append(WordPiece("equal", "".join(words)))
                continue
            text = "".join(head) + "… " + "".join(tail)
            pieces.append(WordPiece("equal", text if head or tail else "… "))
            continue
        if i2 > i1:
            pieces.append(WordPiece("delete", "".join(left[i1:i2])))
        if j2 > j1:
            pieces.append(WordPiece("insert", "".join(right[j1:j2])))
    if all(piece.tag == "equal" for piece in pieces):
        return (WordPiece("equal", "(only spacing or line breaks changed)"),)
    if sum(len(piece.text) for piece in pieces) > limit:
        return None
    return tuple(WordPiece(p.tag, p.text.strip()) for p in pieces if p.text.strip())

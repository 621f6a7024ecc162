"""``PUT /api/changes/{id}`` takes back the document that ``GET`` served.

The editable fields are those of ``ChangeEdit``. The server-owned ones (``changeId``, ``status``,
``createdAt``/``By``, ``modifiedAt``/``By``, ``history``, ``overrides``, ``customerNames``,
``visibility``) may be sent along: they are ignored when they match the current document, and
refused when they contradict it (409 for another change or a stale draft, 422 naming the field
otherwise). Unknown fields are still refused, like everywhere else.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import Field

from changecast.changes.models import (
    SHORT_TEXT_MAX,
    Change,
    ChangeEdit,
    ChangeStatus,
    HistoryEntry,
    Override,
    Timestamp,
)
from changecast.errors import ConflictError, FieldProblem, InvalidInputError

_SERVER_OWNED = frozenset(
    {
        "change_id",
        "status",
        "created_at",
        "created_by",
        "modified_at",
        "modified_by",
        "history",
        "overrides",
        "visibility",
    }
)


class ChangeReplacement(ChangeEdit):
    """An edit, or the whole change document as ``GET /api/changes/{id}`` returns it."""

    change_id: str | None = Field(default=None, max_length=36)
    status: ChangeStatus | None = None
    created_at: Timestamp | None = None
    created_by: str | None = Field(default=None, max_length=SHORT_TEXT_MAX)
    modified_at: Timestamp | None = None
    modified_by: str | None = Field(default=None, max_length=SHORT_TEXT_MAX)
    history: list[HistoryEntry] | None = Field(default=None, max_length=10_000)
    overrides: list[Override] | None = Field(default=None, max_length=10_000)
    visibility: Literal["full", "summary"] | None = None

    def as_edit(self) -> ChangeEdit:
        """The editable part (what the edit and draft-update functions take)."""
        return ChangeEdit(
            version=self.version,
            change_metadata=self.change_metadata,
            email_notification=self.email_notification,
            meeting_invite=self.meeting_invite,
        )


def _json(value: Any) -> Any:
    """A value as the document shows it (instants to the second, as they are stored)."""
    if isinstance(value, list):
        return [_json(item) for item in value]
    if isinstance(value, HistoryEntry | Override):
        return value.model_dump(mode="json", by_alias=True, exclude_none=True)
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, StrEnum):
        return value.value
    return value


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def check_replacement(
    body: ChangeReplacement,
    current: Change,
    *,
    names_of: Callable[[list[str]], list[str] | None],
) -> ChangeEdit:
    """The edit in ``body``, once its server-owned fields agree with ``current``.

    ``names_of(codes)`` gives the directory's names of the codes (``None`` if one is unknown: the
    edit itself then reports the unknown code). A ``version`` other than the current one is left to
    the edit (a stale edit is a 409; a repeated one resumes), so only a body made from the current
    version is compared field by field.
    """
    if body.change_id is not None and body.change_id != current.change_id:
        raise ConflictError(
            f"the document you sent is change {body.change_id!r}, not {current.change_id}; "
            "send it to its own URL",
            change_id=current.change_id,
        )
    if body.version != current.version:
        return body.as_edit()
    draft = current.status is ChangeStatus.DRAFT
    stale = body.modified_at is not None and _json(body.modified_at) != _json(current.modified_at)
    if draft and stale:
        raise ConflictError(
            f"draft {current.change_id} was saved again by {current.modified_by} since the copy "
            "you sent; reload it and edit the latest",
            change_id=current.change_id,
            latest_version=current.version,
        )
    problems: list[FieldProblem] = []
    sent = {name for name in _SERVER_OWNED if getattr(body, name) is not None}
    if body.visibility == "summary":
        problems.append(
            FieldProblem("visibility", "a summary cannot be saved; GET the full change and edit it")
        )
    for name in sorted(sent - {"visibility"}):
        theirs = _json(getattr(body, name))
        ours = _json(getattr(current, name))
        if theirs != ours:
            alias = ChangeReplacement.model_fields[name].alias or name
            hint = (
                "changes only through an action (submit, approve, reject, complete, cancel)"
                if name == "status"
                else "is set by the server"
            )
            problems.append(
                FieldProblem(
                    alias, f"is {_shown(ours)} on the server, not {_shown(theirs)}; it {hint}"
                )
            )
    names = list(body.change_metadata.customer_names)
    if names:
        codes = list(body.change_metadata.customer_codes)
        expected = names_of(codes)
        if names != list(current.change_metadata.customer_names) and names != expected:
            problems.append(
                FieldProblem(
                    "changeMetadata.customerNames",
                    f"must be the names of customerCodes ({_shown(expected)}) or left out; "
                    "the server fills them in",
                )
            )
    if problems:
        raise InvalidInputError(
            "fields owned by the server differ from the change: "
            + "; ".join(f"{p.field}: {p.problem}" for p in problems),
            details=problems,
        )
    return body.as_edit()

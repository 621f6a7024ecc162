"""The error kinds of changecast; every boundary maps these once (HTTP, exit code, retry or DLQ)."""

from __future__ import annotations

from typing import Any


class ChangecastError(Exception):
    """Root of every error we raise on purpose. ``context`` carries safe, loggable details."""

    kind = "error"

    def __init__(self, message: str, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        self.context = context

    def __str__(self) -> str:
        return self.message


class NotFoundError(ChangecastError):
    """The thing asked for does not exist."""

    kind = "not_found"


class ConflictError(ChangecastError):
    """The request clashes with the current state (stale version, forbidden transition)."""

    kind = "conflict"


class InvalidInputError(ChangecastError):
    """Input failed validation. ``details`` lists one entry per offending field."""

    kind = "invalid_input"

    def __init__(
        self, message: str, *, details: list[FieldProblem] | None = None, **context: Any
    ) -> None:
        super().__init__(message, **context)
        self.details: list[FieldProblem] = details or []


class MalformedInputError(InvalidInputError):
    """Input that cannot even be parsed: a non-UUID id, a body that is not JSON."""


class PermissionDeniedError(ChangecastError):
    """The acting user may not do this."""

    kind = "permission_denied"


class UpstreamError(ChangecastError):
    """A dependency (AWS, the database) failed. ``retryable`` says whether trying again may help."""

    kind = "upstream"

    def __init__(self, message: str, *, retryable: bool, **context: Any) -> None:
        super().__init__(message, **context)
        self.retryable = retryable


class UnreadableDocumentError(UpstreamError):
    """A stored document that no longer loads (invalid, or nested too deep): not retryable.

    The API answers 409 naming the key; lists and exports report it and skip it.
    """

    kind = "unreadable_document"

    def __init__(self, message: str, *, key: str, **context: Any) -> None:
        super().__init__(message, retryable=False, key=key, **context)
        self.key = key


class FieldProblem(dict[str, str]):
    """One validation problem: ``{"field": "changeMetadata.title", "problem": "..."}``."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(field=field, problem=problem)

    @property
    def field(self) -> str:
        return self["field"]

    @property
    def problem(self) -> str:
        return self["problem"]


def problems_from_pydantic(errors: list[Any], *, prefix: str = "") -> list[FieldProblem]:
    """Turn pydantic's ``ValidationError.errors()`` into field problems with dotted paths."""
    found: list[FieldProblem] = []
    for error in errors:
        path = ".".join(str(part) for part in error.get("loc", ()) if part != "__root__")
        if prefix:
            path = f"{prefix}.{path}" if path else prefix
        message = str(error.get("msg", "is invalid"))
        message = message.removeprefix("Value error, ")
        found.append(FieldProblem(path or "(document)", message))
    return found

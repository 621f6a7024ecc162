"""The one place that maps changecast errors to HTTP responses.

Every error body is ``{"error": {"kind", "message", "details"}}``.
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from changecast.actions.gates import GateFinding, GateRefusedError
from changecast.errors import (
    ChangecastError,
    ConflictError,
    InvalidInputError,
    MalformedInputError,
    NotFoundError,
    PermissionDeniedError,
    UnreadableDocumentError,
    UpstreamError,
    problems_from_pydantic,
)

log = structlog.get_logger()


class NotSignedInError(ChangecastError):
    """No valid session or token came with the request."""

    kind = "not_signed_in"


def status_for(error: ChangecastError) -> int:
    """HTTP status of each error kind."""
    mapping: list[tuple[type[ChangecastError], int]] = [
        (MalformedInputError, 400),
        (InvalidInputError, 422),
        (NotSignedInError, 401),
        (PermissionDeniedError, 403),
        (NotFoundError, 404),
        (ConflictError, 409),
        (UnreadableDocumentError, 409),
    ]
    for kind, status in mapping:
        if isinstance(error, kind):
            return status
    if isinstance(error, UpstreamError):
        return 503 if error.retryable else 502
    return 500


def error_body(kind: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"kind": kind, "message": message, "details": details or []}}


def _changecast_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ChangecastError)
    status = status_for(exc)
    if status >= 500:
        log.error("request_failed", path=request.url.path, kind=exc.kind, error=exc.message)
    elif isinstance(exc, UnreadableDocumentError):
        log.error("stored_document_unreadable", path=request.url.path, key=exc.key)
    details = getattr(exc, "details", None) or []
    body = error_body(exc.kind, exc.message, details)
    if isinstance(exc, ConflictError) and "latest_version" in exc.context:
        body["error"]["latestVersion"] = exc.context["latest_version"]
    if isinstance(exc, GateRefusedError):
        body["error"]["findings"] = [finding_json(finding) for finding in exc.findings]
    return JSONResponse(body, status_code=status)


def finding_json(finding: GateFinding) -> dict[str, Any]:
    """A gate finding as the API writes it (camelCase)."""
    return {
        "gate": finding.gate,
        "message": finding.message,
        "customerCode": finding.customer_code,
        "blocking": finding.blocking,
    }


def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    del request
    errors = list(exc.errors())
    if any(error.get("type") == "json_invalid" for error in errors):
        detail = errors[0].get("ctx", {}).get("error", "malformed JSON")
        return JSONResponse(
            error_body("invalid_input", f"the request body is not valid JSON: {detail}"),
            status_code=400,
        )
    problems = problems_from_pydantic(
        [{**e, "loc": tuple(p for p in e.get("loc", ()) if p != "body")} for e in errors]
    )
    message = "; ".join(f"{p.field}: {p.problem}" for p in problems[:5])
    return JSONResponse(error_body("invalid_input", message, problems), status_code=422)


def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    del request
    kinds = {404: "not_found", 405: "method_not_allowed", 401: "not_signed_in", 403: "forbidden"}
    return JSONResponse(
        error_body(kinds.get(exc.status_code, "http_error"), str(exc.detail)),
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ChangecastError, _changecast_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)

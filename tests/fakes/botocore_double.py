"""Answers chosen AWS operations in memory at the botocore layer, for APIs moto lacks.

Registered on every new botocore session (like moto's own hook); other calls go on to moto.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import botocore.handlers
import pytest

from changecast.contacts.models import SuppressionReason

Operation = Callable[[dict[str, Any]], dict[str, Any]]
PARAMS_KEY = "botocore_double_params"


class DoubleError(Exception):
    """Raise inside an operation to answer with an AWS error."""

    def __init__(self, code: str, status: int, message: str = "") -> None:
        super().__init__(message or code)
        self.code = code
        self.status = status


@dataclass
class _Http:
    status_code: int
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes = b""


@dataclass
class BotocoreDouble:
    """``operations`` maps an operation name (``PutSuppressedDestination``) to its answer."""

    service: str
    operations: dict[str, Operation]
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def _remember(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context[PARAMS_KEY] = dict(params)

    def _answer(self, name: str) -> Callable[..., tuple[_Http, dict[str, Any]]]:
        def handler(context: dict[str, Any], **_: Any) -> tuple[_Http, dict[str, Any]]:
            params = context.get(PARAMS_KEY, {})
            self.calls.append((name, params))
            try:
                body = self.operations[name](params)
            except DoubleError as exc:
                error = {"Code": exc.code, "Message": str(exc)}
                meta = {"HTTPStatusCode": exc.status}
                return _Http(exc.status), {"Error": error, "ResponseMetadata": meta}
            return _Http(200), {**body, "ResponseMetadata": {"HTTPStatusCode": 200}}

        return handler

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        handlers = [*botocore.handlers.BUILTIN_HANDLERS]
        for name in self.operations:
            handlers.append((f"before-parameter-build.{self.service}.{name}", self._remember))
            handlers.append((f"before-call.{self.service}.{name}", self._answer(name)))
        monkeypatch.setattr(botocore.handlers, "BUILTIN_HANDLERS", handlers)


def suppression_double() -> tuple[BotocoreDouble, dict[str, str]]:
    """SESv2's account suppression list (moto has none); returns the double and its store."""
    store: dict[str, str] = {}

    def put(params: dict[str, Any]) -> dict[str, Any]:
        store[params["EmailAddress"].lower()] = SuppressionReason(params["Reason"]).value
        return {}

    def get(params: dict[str, Any]) -> dict[str, Any]:
        email = params["EmailAddress"].lower()
        if email not in store:
            raise DoubleError("NotFoundException", 404, f"{email} is not suppressed")
        return {"SuppressedDestination": {"EmailAddress": email, "Reason": store[email]}}

    def delete(params: dict[str, Any]) -> dict[str, Any]:
        get(params)
        del store[params["EmailAddress"].lower()]
        return {}

    def listing(params: dict[str, Any]) -> dict[str, Any]:
        items = sorted(store.items())
        start = int(params.get("NextToken") or 0)
        page = items[start : start + 2]
        answer: dict[str, Any] = {
            "SuppressedDestinationSummaries": [{"EmailAddress": e, "Reason": r} for e, r in page]
        }
        if start + 2 < len(items):
            answer["NextToken"] = str(start + 2)
        return answer

    operations: dict[str, Operation] = {
        "PutSuppressedDestination": put,
        "GetSuppressedDestination": get,
        "DeleteSuppressedDestination": delete,
        "ListSuppressedDestinations": listing,
    }
    return BotocoreDouble("sesv2", operations), store

"""Invoking a Lambda function synchronously and reading its answer (``deploy migrate``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from changecast.aws.errors import translate
from changecast.errors import UpstreamError

INVOKE_READ_TIMEOUT_SECONDS = 900
"""Lambda's longest run: the call waits that long for the function's answer."""


@dataclass(frozen=True)
class Invocation:
    """What a synchronous invocation returned: the payload, and the function's error if any."""

    payload: Any
    function_error: str | None = None
    """``Unhandled`` (the handler raised, timed out or ran out of memory) or ``Handled``."""

    @property
    def error_message(self) -> str:
        """The function's error as one line (its ``errorType: errorMessage``)."""
        body = self.payload if isinstance(self.payload, dict) else {}
        kind = body.get("errorType") or self.function_error or "error"
        message = body.get("errorMessage") or json.dumps(self.payload)[:500]
        return " ".join(f"{kind}: {message}".split())[:1000]


def lambda_client(region: str, endpoint_url: str | None = None) -> Any:
    """A Lambda client that waits up to 15 minutes for an answer and never retries an invoke."""
    import boto3

    config = Config(
        read_timeout=INVOKE_READ_TIMEOUT_SECONDS,
        connect_timeout=10,
        retries={"total_max_attempts": 1, "mode": "standard"},
    )
    return boto3.client("lambda", region_name=region, endpoint_url=endpoint_url, config=config)


def invoke(client: Any, function_name: str, payload: Any) -> Invocation:
    """Invoke ``function_name`` with ``payload`` (JSON) and wait for its answer."""
    try:
        answer = client.invoke(
            FunctionName=function_name,
            InvocationType="RequestResponse",
            Payload=json.dumps(payload).encode("utf-8"),
        )
    except ClientError as exc:
        raise translate(exc, operation=f"Invoke {function_name[:140]}") from exc
    except BotoCoreError as exc:
        raise UpstreamError(
            f"Invoke {function_name[:140]}: {type(exc).__name__}: {exc}", retryable=True
        ) from None
    raw = answer["Payload"].read()
    try:
        body = json.loads(raw) if raw else None
    except json.JSONDecodeError:
        body = raw.decode("utf-8", "replace")[:1000]
    return Invocation(payload=body, function_error=answer.get("FunctionError"))

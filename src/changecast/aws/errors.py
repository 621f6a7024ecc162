"""Turns botocore exceptions into changecast errors, once, at the edge."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from botocore.exceptions import (
    ConnectionError as BotoConnectionError,
)

from changecast.errors import (
    ChangecastError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    UpstreamError,
)

THROTTLING = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "SlowDown",
        "ProvisionedThroughputExceededException",
        "LimitExceededException",
    }
)
NOT_FOUND = frozenset({"NoSuchKey", "NotFoundException", "ResourceNotFoundException", "404"})
CONFLICT = frozenset(
    {"PreconditionFailed", "412", "ConditionalCheckFailedException", "AlreadyExistsException"}
)
DENIED = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "403"})


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def translate(exc: Exception, *, operation: str) -> ChangecastError:  # noqa: PLR0911
    """Map one botocore exception to our error kinds."""
    if isinstance(exc, ClientError):
        code = error_code(exc)
        message = str(exc.response.get("Error", {}).get("Message", "")) or code
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        text = f"{operation} failed: {code}: {message}"
        if code in THROTTLING or status == 429:
            return UpstreamError(text, retryable=True, code=code, throttled=True)
        if code in NOT_FOUND:
            return NotFoundError(text, code=code)
        if code in CONFLICT:
            return ConflictError(text, code=code)
        if code in DENIED:
            return PermissionDeniedError(text, code=code)
        if code in {"BadRequestException", "ValidationException", "InvalidParameterValue"}:
            return InvalidInputError(text, code=code)
        return UpstreamError(text, retryable=status >= 500 or status == 0, code=code)
    if isinstance(exc, EndpointConnectionError | BotoConnectionError | ReadTimeoutError):
        return UpstreamError(f"{operation} failed: {exc}", retryable=True)
    if isinstance(exc, BotoCoreError):
        return UpstreamError(f"{operation} failed: {exc}", retryable=False)
    return UpstreamError(f"{operation} failed: {exc}", retryable=False)


@contextmanager
def aws_call(operation: str) -> Iterator[None]:
    """Run AWS calls inside; botocore errors leave as changecast errors."""
    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        raise translate(exc, operation=operation) from exc

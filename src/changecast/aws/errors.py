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
from botocore.parsers import ResponseParserError

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
SENDING_PAUSED = frozenset(
    {
        "AccountSuspendedException",
        "SendingPausedException",
        "AccountSendingPausedException",
        "ConfigurationSetSendingPausedException",
        "MailFromDomainNotVerifiedException",
    }
)
"""SES refuses every message of the account: no retry helps until someone fixes the account."""


class Permanent:
    """The ``permanent`` kinds of a non-retryable ``UpstreamError`` (``context["permanent"]``)."""

    ROLE_DENIED = "role_denied"
    ROLE_MISSING = "role_missing"
    SENDING_PAUSED = "sending_paused"
    SENDER_UNVERIFIED = "sender_unverified"


def permanent(text: str, *, kind: str, code: str) -> UpstreamError:
    """A failure that retrying cannot fix: the worker records it and dead-letters at once."""
    return UpstreamError(text, retryable=False, permanent=kind, code=code)


def permanent_send_error(exc: ClientError, *, sender: str, operation: str) -> UpstreamError | None:
    """SendEmail's account-wide refusals: sending paused, or the sender not verified.

    An unverified *recipient* (the SES sandbox) is that recipient's own failure and not this:
    the sender's address must be among the identities SES names.
    """
    code = error_code(exc)
    message = str(exc.response.get("Error", {}).get("Message", "")) or code
    text = f"{operation} failed: {code}: {message}"
    if code in SENDING_PAUSED:
        return permanent(
            f"SES sending is paused or disabled for this account ({text})",
            kind=Permanent.SENDING_PAUSED,
            code=code,
        )
    lowered = message.lower()
    named = bool(sender) and sender.lower() in lowered
    if code == "MessageRejected" and "not verified" in lowered and named:
        return permanent(
            f"the sender {sender} is not verified in this SES account ({text})",
            kind=Permanent.SENDER_UNVERIFIED,
            code=code,
        )
    return None


def unsupported(operation: str, name: str, *, sure: bool = True) -> UpstreamError:
    """The endpoint has no such operation (moto lacks some SES calls); retrying cannot help.

    ``context["unsupported"]`` names the missing call, so callers can say exactly that. Not
    ``sure``: the endpoint answered an HTML error page (moto's server does so for a query-API
    call it lacks, and for one it failed on).
    """
    why = "does not implement" if sure else "answered with an HTML error page to"
    lacks = "moto lacks it" if sure else "moto lacks the call, or failed on it"
    return UpstreamError(
        f"{operation} failed: this AWS endpoint {why} {name} ({lacks})",
        retryable=False,
        code="NotImplemented",
        unsupported=name,
    )


def html_answer(text: str) -> bool:
    """Whether an error body is an HTML page (moto's server answers a call it lacks so)."""
    head = text.lstrip()[:20].lower()
    return head.startswith(("<!doctype html", "<html"))


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def translate(exc: Exception, *, operation: str) -> ChangecastError:  # noqa: PLR0911
    """Map one botocore exception to our error kinds."""
    if isinstance(exc, ClientError):
        code = error_code(exc)
        message = str(exc.response.get("Error", {}).get("Message", "")) or code
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        text = f"{operation} failed: {code}: {message}"
        if html_answer(message):  # never AWS's own answer: an emulator's page, not worth showing
            name = exc.operation_name or operation.split(" ", maxsplit=1)[0]
            return unsupported(operation, name, sure=status == 404)
        if operation.startswith("AssumeRole") and (code in DENIED or code == "NoSuchEntity"):
            kind = Permanent.ROLE_MISSING if code == "NoSuchEntity" else Permanent.ROLE_DENIED
            return permanent(f"the customer's role cannot be assumed: {text}", kind=kind, code=code)
        if code in SENDING_PAUSED:
            return permanent(
                f"SES sending is paused or disabled for this account ({text})",
                kind=Permanent.SENDING_PAUSED,
                code=code,
            )
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
    except NotImplementedError as exc:  # moto in-process: a call it lacks
        raise unsupported(operation, operation.split(" ", maxsplit=1)[0]) from exc
    except ResponseParserError as exc:  # not a BotoCoreError: a garbled answer, maybe transient
        if "<!doctype html" in str(exc).lower():  # moto's server: a query-API call it lacks
            raise unsupported(operation, operation.split(" ", maxsplit=1)[0], sure=False) from exc
        raise UpstreamError(
            f"{operation} failed: unreadable answer: {exc}"[:500], retryable=True
        ) from exc

"""The queue messages a worker accepts: S3 event notifications and seed 000's embedded metadata.

Anything else (and a body that is not JSON) is a ``MalformedInputError``: a permanent error.
S3 keys arrive URL-encoded (``+`` for a space) and are decoded with ``unquote_plus``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import unquote_plus

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from changecast.changes.models import Change, ChangeStatus
from changecast.distribution.models import DistributionEvent
from changecast.errors import MalformedInputError, problems_from_pydantic
from changecast.ids import CUSTOMER_CODE_PATTERN


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class _S3Bucket(_Lenient):
    name: str = Field(min_length=1, max_length=255)


class _S3Object(_Lenient):
    key: str = Field(min_length=1, max_length=2_048)


class _S3Entity(_Lenient):
    bucket: _S3Bucket
    object_: _S3Object = Field(alias="object")


class _S3Record(_Lenient):
    event_name: str = Field(default="ObjectCreated:Put", alias="eventName")
    s3: _S3Entity


class _S3Event(_Lenient):
    records: list[_S3Record] = Field(alias="Records", min_length=1, max_length=100)


class _S3TestEvent(_Lenient):
    event: Literal["s3:TestEvent"] = Field(alias="Event")


class _Embedded(_Lenient):
    action_type: str = Field(min_length=1, max_length=64)
    customer_code: str = Field(pattern=CUSTOMER_CODE_PATTERN)
    execution_id: str = Field(min_length=1, max_length=200)
    timestamp: str = Field(min_length=1, max_length=64)
    metadata: dict[str, Any]


@dataclass(frozen=True)
class ObjectRef:
    """An S3 object that was written (the key decoded)."""

    bucket: str
    key: str


@dataclass(frozen=True)
class EmbeddedRequest:
    """A seed-000 message: the whole change travels in the message."""

    customer_code: str
    execution_id: str
    event: DistributionEvent
    change: Change


@dataclass(frozen=True)
class ParsedMessage:
    """What a body asks for: objects to deliver, an embedded request, or nothing (a test event)."""

    objects: tuple[ObjectRef, ...] = ()
    embedded: EmbeddedRequest | None = None

    @property
    def is_empty(self) -> bool:
        return not self.objects and self.embedded is None


_ACTIONS = {
    "approval-request": DistributionEvent.SUBMITTED,
    "meeting-invite": DistributionEvent.APPROVED,
    **{event.value: event for event in DistributionEvent},
}
_NOTIFICATION = {
    ChangeStatus.SUBMITTED: DistributionEvent.SUBMITTED,
    ChangeStatus.APPROVED: DistributionEvent.APPROVED,
    ChangeStatus.COMPLETED: DistributionEvent.COMPLETED,
    ChangeStatus.CANCELLED: DistributionEvent.CANCELLED,
}


_STATUS_OF_EVENT = {
    DistributionEvent.SUBMITTED: ChangeStatus.SUBMITTED,
    DistributionEvent.APPROVED: ChangeStatus.APPROVED,
    DistributionEvent.UPDATED: ChangeStatus.APPROVED,
    DistributionEvent.COMPLETED: ChangeStatus.COMPLETED,
    DistributionEvent.CANCELLED: ChangeStatus.CANCELLED,
    DistributionEvent.REMINDER: ChangeStatus.APPROVED,
    DistributionEvent.WINDOW_OPEN: ChangeStatus.APPROVED,
    DistributionEvent.WINDOW_CLOSED: ChangeStatus.APPROVED,
    DistributionEvent.NUDGE: ChangeStatus.APPROVED,
    DistributionEvent.SURVEY: ChangeStatus.COMPLETED,
}
"""The status a change holds when it sends the event (a withdrawal's is checked elsewhere)."""


def contradiction(event: DistributionEvent, change: Change) -> str | None:
    """Why an embedded message's event cannot be sent for the change it carries, if it cannot.

    A message that asks for ``completed`` of a cancelled change (or an approval request of an
    approved one) is stale or forged: the worker dead-letters it with this reason.
    """
    expected = _STATUS_OF_EVENT.get(event)
    if expected is None or change.status is expected:
        return None
    return (
        f"the message asks for {event.value} but change {change.change_id} "
        f"v{change.version} is {change.status.value}"
    )


def _invalid(what: str, exc: ValidationError) -> MalformedInputError:
    problems = problems_from_pydantic(exc.errors())
    text = "; ".join(f"{p.field}: {p.problem}" for p in problems[:5])
    return MalformedInputError(f"{what}: {text}", details=problems)


def _event_of(action_type: str, change: Change) -> DistributionEvent:
    action = action_type.strip().lower().replace("_", "-")
    if action == "notification":
        found = _NOTIFICATION.get(change.status)
        if found is None:
            raise MalformedInputError(f"a {change.status.value} change sends no notification")
        return found
    if action not in _ACTIONS:
        raise MalformedInputError(f"unknown action_type {action_type[:64]!r}")
    return _ACTIONS[action]


def _embedded(raw: dict[str, Any]) -> EmbeddedRequest:
    try:
        message = _Embedded.model_validate(raw)
    except ValidationError as exc:
        raise _invalid("embedded-metadata message", exc) from None
    try:
        change = Change.model_validate(message.metadata)
    except ValidationError as exc:
        raise _invalid("embedded metadata", exc) from None
    return EmbeddedRequest(
        customer_code=message.customer_code,
        execution_id=message.execution_id,
        event=_event_of(message.action_type, change),
        change=change,
    )


def _s3(raw: dict[str, Any]) -> ParsedMessage:
    try:
        event = _S3Event.model_validate(raw)
    except ValidationError as exc:
        raise _invalid("S3 event notification", exc) from None
    return ParsedMessage(
        objects=tuple(
            ObjectRef(bucket=record.s3.bucket.name, key=unquote_plus(record.s3.object_.key))
            for record in event.records
            if record.event_name.startswith("ObjectCreated")
        )
    )


def parse_message(body: str) -> ParsedMessage:
    """Parse one SQS body (an SNS envelope around an S3 event is unwrapped)."""
    try:
        raw = json.loads(body)
    except (json.JSONDecodeError, TypeError) as exc:
        raise MalformedInputError(f"the message is not JSON: {exc}") from None
    if isinstance(raw, dict) and raw.get("Type") == "Notification" and "Message" in raw:
        return parse_message(str(raw["Message"]))
    if not isinstance(raw, dict):
        raise MalformedInputError("the message is not a JSON object")
    if raw.get("Event") == "s3:TestEvent":
        _S3TestEvent.model_validate(raw)
        return ParsedMessage()
    if "Records" in raw:
        return _s3(raw)
    if "action_type" in raw:
        return ParsedMessage(embedded=_embedded(raw))
    raise MalformedInputError(
        "the message is neither an S3 event notification nor an embedded-metadata message"
    )

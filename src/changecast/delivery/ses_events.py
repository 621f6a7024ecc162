"""SES sending events as they reach the hub queue: parse SNS envelopes and SES event JSON.

The queue body is an SNS ``Notification`` whose ``Message`` is SES's event record. Its
``TopicArn`` is set by SNS, and the hub queue's policy admits only the customers' events topics,
so the topic is what proves which customer account published an event (``source_customer``);
nothing in the record (``mail.sendingAccountId``, tags) is trusted for that. A raw record (raw
message delivery) still parses, without a topic, and is then refused as unproven. Only the
fields we use are read; SES may add others. The message tags we set on every send
(``changecast-*``) let an event be traced without the ledger.

A body is bounded before it is parsed: at most ``MAX_BODY_BYTES`` and ``MAX_EVENT_DEPTH`` levels
of nesting (measured without recursion), so a hostile record fails only itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

import pydantic_core

from changecast.delivery.ledger import Channel, DeliveryKey
from changecast.delivery.outcomes import DETAIL_MAX, DeliveryOutcome, OutcomeMark
from changecast.distribution.models import DistributionEvent
from changecast.errors import InvalidInputError, MalformedInputError
from changecast.json_depth import json_depth

TAG_PREFIX = "changecast-"
TAG_CHANGE = "changecast-change"
TAG_VERSION = "changecast-version"
TAG_EVENT = "changecast-event"
TAG_CUSTOMER = "changecast-customer"
TAG_CHANNEL = "changecast-channel"
_TAG_TEXT = re.compile(r"[^A-Za-z0-9_-]")
"""SES message tag names and values: ASCII letters, digits, underscores and dashes, <= 256."""
MAX_BODY_BYTES = 256 * 1024
"""An SQS message's limit: a larger body is not something SNS delivered."""
MAX_EVENT_DEPTH = 32
"""Objects and arrays inside each other; an SES record needs 5."""
_TOPIC_ARN = re.compile(r"^arn:aws[a-z-]*:sns:([a-z0-9-]+):(\d{12}):([A-Za-z0-9_-]{1,256})$")


class SesEventType(StrEnum):
    SEND = "Send"
    DELIVERY = "Delivery"
    BOUNCE = "Bounce"
    COMPLAINT = "Complaint"
    REJECT = "Reject"
    DELIVERY_DELAY = "DeliveryDelay"
    SUBSCRIPTION = "Subscription"
    RENDERING_FAILURE = "Rendering Failure"


@dataclass(frozen=True)
class SesEvent:
    """One SES event record, reduced to what the events worker needs."""

    event_type: SesEventType
    message_id: str
    sent_at: datetime
    at: datetime
    destination: tuple[str, ...]
    sending_account: str | None = None
    """``mail.sendingAccountId``: compared, never trusted (the topic proves the account)."""
    topic_arn: str | None = None
    """The SNS topic the event came through (the envelope's ``TopicArn``); None for a raw record."""
    tags: Mapping[str, str] = field(default_factory=dict)
    bounce_type: str | None = None
    bounce_subtype: str | None = None
    complaint_feedback_type: str | None = None
    detail: str = ""
    recipients: tuple[str, ...] = ()
    """The recipients the event is about (bounced, complained, delivered, delayed)."""

    @property
    def permanent_bounce(self) -> bool:
        return self.event_type is SesEventType.BOUNCE and self.bounce_type == "Permanent"

    def mark(self) -> OutcomeMark | None:
        """The outcome this event records; None for one that changes no outcome (Subscription)."""
        outcome = _OUTCOME.get(self.event_type)
        if outcome is None:
            return None
        return OutcomeMark(outcome=outcome, at=self.at, detail=self.detail[:DETAIL_MAX])

    def tagged_delivery(self) -> tuple[DeliveryKey, Channel] | None:
        """The delivery the ``changecast-*`` tags name, when all of them are present and valid."""
        try:
            key = DeliveryKey(
                customer=self.tags[TAG_CUSTOMER],
                change_id=self.tags[TAG_CHANGE],
                version=int(self.tags[TAG_VERSION]),
                event=DistributionEvent(self.tags[TAG_EVENT]),
            )
            return key, Channel(self.tags.get(TAG_CHANNEL, Channel.EMAIL.value))
        except (KeyError, ValueError):
            return None

    @property
    def ours(self) -> bool:
        """Whether the message carries our tags (sent by changecast)."""
        return any(name.startswith(TAG_PREFIX) for name in self.tags)


_OUTCOME = {
    SesEventType.SEND: DeliveryOutcome.SENT,
    SesEventType.DELIVERY: DeliveryOutcome.DELIVERED,
    SesEventType.BOUNCE: DeliveryOutcome.BOUNCED,
    SesEventType.COMPLAINT: DeliveryOutcome.COMPLAINED,
    SesEventType.REJECT: DeliveryOutcome.REJECTED,
    SesEventType.DELIVERY_DELAY: DeliveryOutcome.DELAYED,
    SesEventType.RENDERING_FAILURE: DeliveryOutcome.REJECTED,
}
"""A rendering failure is recorded as ``rejected``: SES sent nothing (its detail says why)."""


class UnprovenAccountError(InvalidInputError):
    """An event whose topic does not prove which customer account published it: dead-letter it."""


@dataclass(frozen=True)
class EventSource:
    """A customer account whose SES events topic feeds the hub queue."""

    customer: str
    account_id: str
    region: str | None
    """None: any region."""
    topic_arn: str | None = None
    """config.json's ``ses_events_topic_arn`` (Terraform output); None: any ``*-ses-events``
    topic of the account and region, when no other customer shares them."""


def source_customer(event: SesEvent, sources: Sequence[EventSource]) -> str:
    """The customer whose events topic ``event`` came through; ``UnprovenAccountError`` if none.

    A configured topic ARN matches exactly. A customer without one is matched by the topic's
    account and region (the queue policy admits only ``{prefix}-ses-events`` topics of the
    customers' accounts), unless another customer without a topic shares them.
    """
    topic = event.topic_arn
    if topic is None:
        raise UnprovenAccountError(
            f"SES message {event.message_id}: the event came without its SNS envelope (no "
            "TopicArn), so the account that published it cannot be proven; the subscription "
            "must not use raw message delivery",
            message_id=event.message_id,
        )
    exact = [s.customer for s in sources if s.topic_arn == topic]
    if len(exact) == 1:
        return exact[0]
    found = _TOPIC_ARN.match(topic)
    candidates = (
        [
            s.customer
            for s in sources
            if s.topic_arn is None
            and s.account_id == found.group(2)
            and s.region in (None, found.group(1))
            and found.group(3).endswith("ses-events")
        ]
        if found and not exact
        else exact
    )
    if len(candidates) == 1:
        return candidates[0]
    why = (
        f"is shared by customers {', '.join(sorted(candidates))} (set each one's "
        "ses_events_topic_arn)"
        if candidates
        else "is no customer's SES events topic"
    )
    raise UnprovenAccountError(
        f"SES message {event.message_id}: topic {topic[:200]} {why}, so the account that "
        "published the event cannot be proven",
        message_id=event.message_id,
    )


def message_tags(key: DeliveryKey, channel: Channel) -> dict[str, str]:
    """The SES ``EmailTags`` every send carries (names and values in SES's charset)."""
    values = {
        TAG_CHANGE: key.change_id,
        TAG_VERSION: str(key.version),
        TAG_EVENT: key.event.value,
        TAG_CUSTOMER: key.customer,
        TAG_CHANNEL: channel.value,
    }
    return {name: _TAG_TEXT.sub("_", value)[:256] for name, value in values.items()}


def _object(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MalformedInputError(f"{where} is not a JSON object", field=where)
    return value


def _text(record: Mapping[str, Any], name: str, where: str) -> str:
    value = record.get(name)
    if not isinstance(value, str) or not value:
        raise MalformedInputError(f"{where}.{name} is missing or not a string", field=name)
    return value


def _time(record: Mapping[str, Any], name: str, where: str) -> datetime:
    raw = _text(record, name, where)
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise MalformedInputError(f"{where}.{name} is not a timestamp: {raw[:40]!r}") from None
    if moment.tzinfo is None:
        raise MalformedInputError(f"{where}.{name} has no timezone: {raw[:40]!r}")
    return moment


def _addresses(items: object, key: str | None = "emailAddress") -> tuple[str, ...]:
    if not isinstance(items, list):
        return ()
    found = []
    for item in items:
        value = item.get(key) if key and isinstance(item, dict) else item
        if isinstance(value, str):
            found.append(value)
    return tuple(found)


def _tags(mail: Mapping[str, Any]) -> dict[str, str]:
    raw = mail.get("tags") or {}
    if not isinstance(raw, dict):
        raise MalformedInputError("mail.tags is not a JSON object")
    tags = {}
    for name, values in raw.items():
        if isinstance(values, list) and values and isinstance(values[0], str):
            tags[str(name)] = values[0]
        elif isinstance(values, str):
            tags[str(name)] = values
    return tags


def _bounded_json(text: str, where: str) -> Any:
    """``text`` parsed, refused when it is too large or nests too deep (without recursing)."""
    size = len(text.encode("utf-8", errors="surrogatepass"))
    if size > MAX_BODY_BYTES:
        raise MalformedInputError(f"{where} is {size} bytes, more than {MAX_BODY_BYTES}")
    try:
        # pydantic-core refuses more than 200 levels itself, without recursing in Python
        parsed = pydantic_core.from_json(text.encode("utf-8", errors="surrogatepass"))
    except ValueError as exc:
        problem = "nests too deep" if "recursion limit" in str(exc) else f"is not JSON: {exc}"
        raise MalformedInputError(f"{where} {problem}"[:300]) from None
    depth = json_depth(parsed, stop_at=MAX_EVENT_DEPTH)
    if depth > MAX_EVENT_DEPTH:
        raise MalformedInputError(f"{where} nests deeper than {MAX_EVENT_DEPTH} levels")
    return parsed


def unwrap(body: str) -> dict[str, Any]:
    """The SES record inside a queue body: an SNS ``Notification``, or the raw record itself.

    Any other SNS message (a ``SubscriptionConfirmation``) or non-JSON is malformed here.
    """
    return _unwrapped(body)[0]


def _unwrapped(body: str) -> tuple[dict[str, Any], str | None]:
    """The SES record and the topic it came through (None: a raw record, no envelope)."""
    outer = _object(_bounded_json(body, "the message body"), "the message body")
    if "Type" in outer and "Message" in outer:
        if outer["Type"] != "Notification":
            raise MalformedInputError(f"unexpected SNS message type {str(outer['Type'])[:40]!r}")
        topic = outer.get("TopicArn")
        if not isinstance(topic, str) or not _TOPIC_ARN.match(topic):
            raise MalformedInputError(
                f"the SNS envelope's TopicArn is missing or not an SNS topic ARN: "
                f"{str(topic)[:80]!r}"
            )
        if not isinstance(outer["Message"], str):
            raise MalformedInputError("the SNS Message is not JSON: not a string")
        inner = _bounded_json(outer["Message"], "the SNS Message")
        return _object(inner, "the SNS Message"), topic
    return outer, None


def parse_event(body: str) -> SesEvent:
    """One queue body as an ``SesEvent``; ``MalformedInputError`` names what is wrong.

    Parsing is pure, so any failure is the body's: whatever it raises fails only this body.
    """
    try:
        return _parse(body)
    except InvalidInputError:
        raise
    except Exception as exc:  # a hostile body must fail only itself
        raise MalformedInputError(
            f"the SES event cannot be read: {type(exc).__name__}: {str(exc)[:200]}"
        ) from None


def _parse(body: str) -> SesEvent:
    record, topic = _unwrapped(body)
    kind = record.get("eventType") or record.get("notificationType")
    try:
        event_type = SesEventType(str(kind))
    except ValueError:
        raise MalformedInputError(
            f"unknown SES event type {str(kind)[:40]!r}", field="eventType"
        ) from None
    mail = _object(record.get("mail"), "mail")
    sent_at = _time(mail, "timestamp", "mail")
    common: dict[str, Any] = {
        "event_type": event_type,
        "message_id": _text(mail, "messageId", "mail"),
        "sent_at": sent_at,
        "destination": _addresses(mail.get("destination"), None),
        "sending_account": mail.get("sendingAccountId")
        if isinstance(mail.get("sendingAccountId"), str)
        else None,
        "tags": _tags(mail),
        "topic_arn": topic,
    }
    return _SPECIFIC[event_type](record, sent_at, common)


def _body(record: Mapping[str, Any], name: str) -> dict[str, Any]:
    return _object(record.get(name), name)


def _at(part: Mapping[str, Any], name: str, sent_at: datetime) -> datetime:
    return _time(part, "timestamp", name) if part.get("timestamp") else sent_at


def _send(record: Mapping[str, Any], sent_at: datetime, common: dict[str, Any]) -> SesEvent:
    del record  # SES's ``send`` object is empty
    return SesEvent(at=sent_at, **common)


def _delivery(record: Mapping[str, Any], sent_at: datetime, common: dict[str, Any]) -> SesEvent:
    part = _body(record, "delivery")
    return SesEvent(
        at=_at(part, "delivery", sent_at),
        recipients=_addresses(part.get("recipients"), None),
        detail=str(part.get("smtpResponse") or "")[:DETAIL_MAX],
        **common,
    )


def _bounce(record: Mapping[str, Any], sent_at: datetime, common: dict[str, Any]) -> SesEvent:
    part = _body(record, "bounce")
    kind = _text(part, "bounceType", "bounce")
    subtype = str(part.get("bounceSubType") or "Undetermined")
    recipients = part.get("bouncedRecipients")
    diagnostic = ""
    if isinstance(recipients, list) and recipients and isinstance(recipients[0], dict):
        diagnostic = str(recipients[0].get("diagnosticCode") or "")
    detail = f"{kind}/{subtype}" + (f": {diagnostic}" if diagnostic else "")
    return SesEvent(
        at=_at(part, "bounce", sent_at),
        bounce_type=kind,
        bounce_subtype=subtype,
        recipients=_addresses(recipients),
        detail=detail[:DETAIL_MAX],
        **common,
    )


def _complaint(record: Mapping[str, Any], sent_at: datetime, common: dict[str, Any]) -> SesEvent:
    part = _body(record, "complaint")
    feedback = part.get("complaintFeedbackType")
    feedback = str(feedback) if isinstance(feedback, str) and feedback else None
    return SesEvent(
        at=_at(part, "complaint", sent_at),
        complaint_feedback_type=feedback,
        recipients=_addresses(part.get("complainedRecipients")),
        detail=feedback or "complaint (no feedback type)",
        **common,
    )


def _reject(record: Mapping[str, Any], sent_at: datetime, common: dict[str, Any]) -> SesEvent:
    part = _body(record, "reject")
    return SesEvent(at=sent_at, detail=str(part.get("reason") or "rejected")[:DETAIL_MAX], **common)


def _delay(record: Mapping[str, Any], sent_at: datetime, common: dict[str, Any]) -> SesEvent:
    part = _body(record, "deliveryDelay")
    return SesEvent(
        at=_at(part, "deliveryDelay", sent_at),
        recipients=_addresses(part.get("delayedRecipients")),
        detail=str(part.get("delayType") or "delayed")[:DETAIL_MAX],
        **common,
    )


def _subscription(record: Mapping[str, Any], sent_at: datetime, common: dict[str, Any]) -> SesEvent:
    part = _body(record, "subscription")
    return SesEvent(
        at=_at(part, "subscription", sent_at),
        detail=str(part.get("contactList") or "")[:DETAIL_MAX],
        **common,
    )


def _rendering_failure(
    record: Mapping[str, Any], sent_at: datetime, common: dict[str, Any]
) -> SesEvent:
    part = record.get("failure")
    part = part if isinstance(part, dict) else {}
    message = str(part.get("errorMessage") or "no error message")
    template = part.get("templateName")
    detail = f"rendering failure: {message}" + (
        f" (template {str(template)[:80]})" if template else ""
    )
    return SesEvent(at=sent_at, detail=detail[:DETAIL_MAX], **common)


_SPECIFIC = {
    SesEventType.SEND: _send,
    SesEventType.DELIVERY: _delivery,
    SesEventType.BOUNCE: _bounce,
    SesEventType.COMPLAINT: _complaint,
    SesEventType.REJECT: _reject,
    SesEventType.DELIVERY_DELAY: _delay,
    SesEventType.SUBSCRIPTION: _subscription,
    SesEventType.RENDERING_FAILURE: _rendering_failure,
}

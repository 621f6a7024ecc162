"""SES sending events as they reach the hub queue: parse SNS envelopes and SES event JSON.

The queue body is an SNS ``Notification`` whose ``Message`` is SES's event record (or, with raw
message delivery, the record itself). Only the fields we use are read; SES may add others. The
message tags we set on every send (``changecast-*``) let an event be traced without the ledger.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from changecast.delivery.ledger import Channel, DeliveryKey
from changecast.delivery.outcomes import DETAIL_MAX, DeliveryOutcome, OutcomeMark
from changecast.distribution.models import DistributionEvent
from changecast.errors import MalformedInputError

TAG_PREFIX = "changecast-"
TAG_CHANGE = "changecast-change"
TAG_VERSION = "changecast-version"
TAG_EVENT = "changecast-event"
TAG_CUSTOMER = "changecast-customer"
TAG_CHANNEL = "changecast-channel"
_TAG_TEXT = re.compile(r"[^A-Za-z0-9_-]")
"""SES message tag names and values: ASCII letters, digits, underscores and dashes, <= 256."""


class SesEventType(StrEnum):
    SEND = "Send"
    DELIVERY = "Delivery"
    BOUNCE = "Bounce"
    COMPLAINT = "Complaint"
    REJECT = "Reject"
    DELIVERY_DELAY = "DeliveryDelay"
    SUBSCRIPTION = "Subscription"


@dataclass(frozen=True)
class SesEvent:
    """One SES event record, reduced to what the events worker needs."""

    event_type: SesEventType
    message_id: str
    sent_at: datetime
    at: datetime
    destination: tuple[str, ...]
    sending_account: str | None = None
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
}


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


def unwrap(body: str) -> dict[str, Any]:
    """The SES record inside a queue body: an SNS ``Notification``, or the raw record itself.

    Any other SNS message (a ``SubscriptionConfirmation``) or non-JSON is malformed here.
    """
    try:
        outer = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MalformedInputError(f"the message body is not JSON: {exc}") from None
    outer = _object(outer, "the message body")
    if "Type" in outer and "Message" in outer:
        if outer["Type"] != "Notification":
            raise MalformedInputError(f"unexpected SNS message type {str(outer['Type'])[:40]!r}")
        try:
            inner = json.loads(str(outer["Message"]))
        except json.JSONDecodeError as exc:
            raise MalformedInputError(f"the SNS Message is not JSON: {exc}") from None
        return _object(inner, "the SNS Message")
    return outer


def parse_event(body: str) -> SesEvent:
    """One queue body as an ``SesEvent``; ``MalformedInputError`` names what is wrong."""
    record = unwrap(body)
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


_SPECIFIC = {
    SesEventType.SEND: _send,
    SesEventType.DELIVERY: _delivery,
    SesEventType.BOUNCE: _bounce,
    SesEventType.COMPLAINT: _complaint,
    SesEventType.REJECT: _reject,
    SesEventType.DELIVERY_DELAY: _delay,
    SesEventType.SUBSCRIPTION: _subscription,
}

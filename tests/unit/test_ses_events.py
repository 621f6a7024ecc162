"""SES event records (SES's own SNS format) as the events worker reads them."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from changecast.delivery.ledger import Channel, DeliveryKey
from changecast.delivery.outcomes import DeliveryOutcome
from changecast.delivery.ses_events import (
    SesEventType,
    message_tags,
    parse_event,
)
from changecast.distribution.models import DistributionEvent
from changecast.errors import MalformedInputError
from changecast.local.ses_simulator import SentMessage, simulated_events

CHANGE = "11111111-2222-4333-8444-555555555555"
KEY = DeliveryKey("initech", CHANGE, 2, DistributionEvent.APPROVED)
SENT_AT = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)


def sent(recipient: str) -> SentMessage:
    return SentMessage(
        message_id="0100018c-aaaa",
        sender="change-notices@ccoe.example.com",
        recipient=recipient,
        tags=message_tags(KEY, Channel.EMAIL),
        sent_at=SENT_AT,
        account_id="210000000002",
        region="us-east-1",
    )


def sns(record: dict[str, Any]) -> str:
    """The SQS body SNS delivers (no raw message delivery)."""
    return json.dumps(
        {
            "Type": "Notification",
            "MessageId": "sns-1",
            "TopicArn": "arn:aws:sns:us-east-1:210000000002:changecast-ses-events-initech",
            "Message": json.dumps(record),
            "Timestamp": "2030-01-01T09:00:01.000Z",
            "SignatureVersion": "1",
        }
    )


def by_type(recipient: str) -> dict[str, dict[str, Any]]:
    return {r["eventType"]: r for r in simulated_events(sent(recipient))}


def test_a_permanent_bounce_carries_its_type_subtype_diagnostic_and_tags() -> None:
    event = parse_event(sns(by_type("bounce@simulator.amazonses.com")["Bounce"]))
    assert event.event_type is SesEventType.BOUNCE
    assert (event.bounce_type, event.bounce_subtype) == ("Permanent", "General")
    assert event.permanent_bounce
    assert event.detail == "Permanent/General: smtp; 550 5.1.1 user unknown"
    assert event.message_id == "0100018c-aaaa"
    assert event.sending_account == "210000000002"
    assert event.tagged_delivery() == (KEY, Channel.EMAIL)
    mark = event.mark()
    assert mark is not None
    assert mark.outcome is DeliveryOutcome.BOUNCED
    assert mark.at > SENT_AT


def test_a_complaint_keeps_its_feedback_type_and_a_raw_record_parses_too() -> None:
    record = by_type("complaint@simulator.amazonses.com")["Complaint"]
    for body in (sns(record), json.dumps(record)):
        event = parse_event(body)
        assert event.complaint_feedback_type == "abuse"
        assert event.recipients == ("complaint@simulator.amazonses.com",)
    record["complaint"].pop("complaintFeedbackType")
    assert parse_event(json.dumps(record)).detail == "complaint (no feedback type)"


def test_send_delivery_reject_delay_and_subscription_records() -> None:
    records = by_type("success@simulator.amazonses.com")
    assert parse_event(sns(records["Send"])).mark().outcome is DeliveryOutcome.SENT  # type: ignore[union-attr]
    delivered = parse_event(sns(records["Delivery"]))
    assert delivered.mark().outcome is DeliveryOutcome.DELIVERED  # type: ignore[union-attr]
    mail = records["Send"]["mail"]
    reject = parse_event(
        json.dumps({"eventType": "Reject", "mail": mail, "reject": {"reason": "Bad content"}})
    )
    assert (reject.detail, reject.mark().outcome) == ("Bad content", DeliveryOutcome.REJECTED)  # type: ignore[union-attr]
    delay = {
        "eventType": "DeliveryDelay",
        "mail": mail,
        "deliveryDelay": {
            "timestamp": "2030-01-01T09:05:00.000Z",
            "delayType": "MailboxFull",
            "expirationTime": "2030-01-01T21:00:00.000Z",
            "delayedRecipients": [{"emailAddress": "success@simulator.amazonses.com"}],
        },
    }
    assert parse_event(json.dumps(delay)).mark().outcome is DeliveryOutcome.DELAYED  # type: ignore[union-attr]
    subscription = {
        "eventType": "Subscription",
        "mail": mail,
        "subscription": {"contactList": "changecast", "timestamp": "2030-01-01T10:00:00Z"},
    }
    assert parse_event(json.dumps(subscription)).mark() is None


def test_an_older_notification_type_record_without_tags_parses() -> None:
    record = by_type("bounce@simulator.amazonses.com")["Bounce"]
    record["notificationType"] = record.pop("eventType")
    record["mail"].pop("tags")
    event = parse_event(json.dumps(record))
    assert event.event_type is SesEventType.BOUNCE
    assert not event.ours
    assert event.tagged_delivery() is None


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        (
            json.dumps({"Type": "SubscriptionConfirmation", "Message": "x"}),
            "SubscriptionConfirmation",
        ),
        (json.dumps({"Type": "Notification", "Message": "{"}), "SNS Message is not JSON"),
        (json.dumps({"eventType": "Open", "mail": {}}), "unknown SES event type 'Open'"),
        (json.dumps({"eventType": "Bounce"}), "mail is not a JSON object"),
        (
            json.dumps({"eventType": "Send", "mail": {"timestamp": "2030-01-01T00:00:00Z"}}),
            "mail.messageId",
        ),
        (
            json.dumps({"eventType": "Send", "mail": {"timestamp": "yesterday", "messageId": "m"}}),
            "not a timestamp",
        ),
        (
            json.dumps(
                {
                    "eventType": "Bounce",
                    "mail": {"timestamp": "2030-01-01T00:00:00Z", "messageId": "m"},
                    "bounce": {},
                }
            ),
            "bounce.bounceType",
        ),
    ],
)
def test_a_malformed_body_is_refused_with_what_is_wrong(body: str, problem: str) -> None:
    with pytest.raises(MalformedInputError, match=problem):
        parse_event(body)


@given(st.text(max_size=300))
def test_any_text_either_parses_or_is_malformed(body: str) -> None:
    with contextlib.suppress(MalformedInputError):
        parse_event(body)


def test_message_tags_use_only_the_characters_ses_allows() -> None:
    tags = message_tags(KEY, Channel.INVITE)
    assert tags == {
        "changecast-change": CHANGE,
        "changecast-version": "2",
        "changecast-event": "approved",
        "changecast-customer": "initech",
        "changecast-channel": "invite",
    }
    weird = message_tags(
        DeliveryKey("a.b", "x y/z", 1, DistributionEvent.WINDOW_OPEN), Channel.EMAIL
    )
    allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
    assert all(set(name) <= allowed and set(value) <= allowed for name, value in weird.items())

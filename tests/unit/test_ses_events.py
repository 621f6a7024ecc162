"""SES event records (SES's own SNS format) as the events worker reads them."""

from __future__ import annotations

import contextlib
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from changecast.delivery.ledger import Channel, DeliveryKey
from changecast.delivery.outcomes import DeliveryOutcome
from changecast.delivery.ses_events import (
    EventSource,
    SesEventType,
    UnprovenAccountError,
    message_tags,
    parse_event,
    source_customer,
)
from changecast.distribution.models import DistributionEvent
from changecast.errors import MalformedInputError
from changecast.local.ses_simulator import SentMessage, simulated_events

CHANGE = "11111111-2222-4333-8444-555555555555"
KEY = DeliveryKey("initech", CHANGE, 2, DistributionEvent.APPROVED)
SENT_AT = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)
TOPIC = "arn:aws:sns:us-east-1:210000000002:changecast-ses-events-initech"


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
            "TopicArn": TOPIC,
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
        (
            json.dumps({"Type": "Notification", "TopicArn": TOPIC, "Message": "{"}),
            "SNS Message is not JSON",
        ),
        (json.dumps({"Type": "Notification", "Message": "{}"}), "TopicArn is missing"),
        (
            json.dumps({"Type": "Notification", "TopicArn": "arn:aws:sqs:x", "Message": "{}"}),
            "not an SNS topic ARN",
        ),
        ("[" * 5_000 + "]" * 5_000, "nests too deep"),
        ("[" * 40 + "1" + "]" * 40, "deeper than 32"),
        (
            json.dumps({"Type": "Notification", "TopicArn": TOPIC, "Message": "{" * 9_000}),
            "SNS Message nests too deep|SNS Message is not JSON",
        ),
        (" " * (256 * 1024 + 1), "more than 262144"),
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


def test_a_rendering_failure_is_recorded_as_rejected_with_its_error() -> None:
    record = {
        "eventType": "Rendering Failure",
        "mail": by_type("x@initech.example.com")["Send"]["mail"],
        "failure": {"errorMessage": "Attribute 'name' is not present", "templateName": "t1"},
    }
    event = parse_event(sns(record))
    assert event.event_type is SesEventType.RENDERING_FAILURE
    mark = event.mark()
    assert mark is not None and mark.outcome is DeliveryOutcome.REJECTED
    assert mark.detail == "rendering failure: Attribute 'name' is not present (template t1)"


def test_every_event_type_the_terraform_subscribes_to_is_parsed() -> None:
    tf = Path(__file__).parents[2] / "deploy/terraform/modules/customer-account/main.tf"
    found = re.search(r"matching_event_types\s*=\s*\[([^\]]*)\]", tf.read_text())
    assert found is not None
    subscribed = re.findall(r'"([A-Z_]+)"', found.group(1))
    ours = {t.name for t in SesEventType}
    assert subscribed and set(subscribed) <= ours


def test_the_topic_an_event_came_through_names_its_customer() -> None:
    event = parse_event(sns(by_type("x@initech.example.com")["Delivery"]))
    assert event.topic_arn == TOPIC
    mine = EventSource("initech", "210000000002", "us-east-1", TOPIC)
    other = EventSource("globex", "210000000001", "us-east-1")
    assert source_customer(event, [other, mine]) == "initech"
    # without a configured topic: the only customer of that account and region
    derived = parse_event(
        sns(by_type("x@initech.example.com")["Delivery"]).replace(
            TOPIC, "arn:aws:sns:us-east-1:210000000002:prod-ses-events"
        )
    )
    assert source_customer(derived, [other, EventSource("initech", "210000000002", "us-east-1")])
    shared = [EventSource(c, "210000000002", "us-east-1") for c in ("initech", "hooli")]
    with pytest.raises(UnprovenAccountError, match="shared by customers hooli, initech"):
        source_customer(derived, shared)
    with pytest.raises(UnprovenAccountError, match="is no customer's SES events topic"):
        source_customer(derived, [other, mine])  # initech's topic is another one
    raw = parse_event(json.dumps(by_type("x@initech.example.com")["Delivery"]))
    assert raw.topic_arn is None
    with pytest.raises(UnprovenAccountError, match="no TopicArn"):
        source_customer(raw, [mine])

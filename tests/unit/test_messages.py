"""Parsing queue messages: S3 events (URL-encoded keys, test events), embedded metadata, junk."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from changecast.changes.models import ChangeStatus
from changecast.delivery.redelivery import s3_event_body
from changecast.distribution.models import DistributionEvent
from changecast.errors import MalformedInputError
from changecast.workers.messages import ObjectRef, parse_message
from tests.delivery_support import stored_change


def s3_body(*keys: str, event: str = "ObjectCreated:Put") -> str:
    return json.dumps(
        {
            "Records": [
                {
                    "eventVersion": "2.1",
                    "eventSource": "aws:s3",
                    "eventName": event,
                    "s3": {"bucket": {"name": "changecast-local"}, "object": {"key": k, "size": 9}},
                }
                for k in keys
            ]
        }
    )


def embedded(action: str, **metadata: Any) -> str:
    change = stored_change(customers=["acme"], **metadata)
    return json.dumps(
        {
            "action_type": action,
            "customer_code": "acme",
            "execution_id": "exec-1",
            "timestamp": "2030-01-01T00:00:00Z",
            "metadata": change.to_json_dict(),
        }
    )


def test_s3_event_keys_are_url_decoded() -> None:
    parsed = parse_message(s3_body("customers/acme/a+b%2Bc%3D.json"))
    assert parsed.objects == (ObjectRef("changecast-local", "customers/acme/a b+c=.json"),)


def test_an_s3_test_event_asks_for_nothing() -> None:
    body = json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "b"})
    assert parse_message(body).is_empty


def test_removals_are_ignored_and_several_records_are_kept_in_order() -> None:
    parsed = parse_message(s3_body("customers/acme/1.json", "customers/acme/2.json"))
    assert [o.key for o in parsed.objects] == ["customers/acme/1.json", "customers/acme/2.json"]
    assert parse_message(s3_body("customers/acme/1.json", event="ObjectRemoved:Delete")).is_empty


def test_an_sns_envelope_is_unwrapped() -> None:
    body = json.dumps({"Type": "Notification", "Message": s3_body("customers/acme/x.json")})
    assert parse_message(body).objects[0].key == "customers/acme/x.json"


def test_the_redrive_body_round_trips_through_the_parser() -> None:
    key = "customers/acme/11111111-2222-4333-8444-555555555555-v2-approved.json"
    assert parse_message(s3_event_body("changecast-local", key)).objects == (
        ObjectRef("changecast-local", key),
    )


@pytest.mark.parametrize(
    ("action", "status", "event"),
    [
        ("approval-request", "submitted", DistributionEvent.SUBMITTED),
        ("approval_request", "submitted", DistributionEvent.SUBMITTED),
        ("meeting-invite", "approved", DistributionEvent.APPROVED),
        ("notification", "completed", DistributionEvent.COMPLETED),
        ("notification", "cancelled", DistributionEvent.CANCELLED),
        ("updated", "submitted", DistributionEvent.UPDATED),
    ],
)
def test_embedded_metadata_messages_carry_the_change_and_the_event(
    action: str, status: str, event: DistributionEvent
) -> None:
    parsed = parse_message(embedded(action, status=ChangeStatus(status)))
    assert parsed.embedded is not None
    assert parsed.embedded.event is event
    assert parsed.embedded.customer_code == "acme"
    assert parsed.embedded.change.customer_codes == ["acme"]


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[]",
        "{}",
        json.dumps({"Records": []}),
        json.dumps({"Records": [{"s3": {"bucket": {}}}]}),
        json.dumps({"action_type": "approval-request", "customer_code": "ACME!"}),
        embedded("launch-missiles"),
        json.dumps(
            {
                "action_type": "notification",
                "customer_code": "acme",
                "execution_id": "e",
                "timestamp": "t",
                "metadata": {"changeId": "nope"},
            }
        ),
    ],
)
def test_anything_else_is_malformed(body: str) -> None:
    with pytest.raises(MalformedInputError):
        parse_message(body)


@given(st.text(max_size=200) | st.dictionaries(st.text(max_size=10), st.integers()).map(json.dumps))
def test_arbitrary_input_is_parsed_or_refused_as_malformed(body: str) -> None:
    with contextlib.suppress(MalformedInputError):
        parse_message(body)

"""SQS partial batch responses: each record alone, failures listed, an all-failed batch raised."""

from __future__ import annotations

from typing import Any

import pytest
from structlog.testing import capture_logs

from changecast.errors import InvalidInputError
from changecast.workers.sqs_batch import BatchFailedError, SqsRecord, partial_batch_response


def sqs_event(*bodies: str, receives: str = "1") -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"m{number}",
                "receiptHandle": f"r{number}",
                "body": body,
                "attributes": {"ApproximateReceiveCount": receives},
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q",
            }
            for number, body in enumerate(bodies)
        ]
    }


class Retry(Exception):
    pass


def fail_on_bad(record: SqsRecord) -> None:
    if record.body.startswith("bad"):
        raise Retry(record.body)


def test_only_the_records_that_raised_are_answered_for_a_retry() -> None:
    seen: list[SqsRecord] = []

    def handle(record: SqsRecord) -> None:
        seen.append(record)
        fail_on_bad(record)

    answer = partial_batch_response(sqs_event("ok", "bad", "fine", "bad again"), handle)
    assert answer == {"batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m3"}]}
    assert [r.body for r in seen] == ["ok", "bad", "fine", "bad again"]
    assert seen[0] == SqsRecord("m0", "ok", 1, "arn:aws:sqs:us-east-1:123456789012:q")


def test_a_batch_of_which_every_record_failed_fails_the_invocation() -> None:
    with pytest.raises(BatchFailedError, match="all 2 records"):
        partial_batch_response(sqs_event("bad", "bad"), fail_on_bad)


def test_an_empty_batch_answers_no_failures() -> None:
    assert partial_batch_response({"Records": []}, fail_on_bad) == {"batchItemFailures": []}


def test_an_event_without_records_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="not an SQS event"):
        partial_batch_response({"detail": {}}, fail_on_bad)


def test_the_receive_count_is_read_from_the_attributes() -> None:
    counts: list[int] = []
    partial_batch_response(sqs_event("ok", receives="4"), lambda r: counts.append(r.receive_count))
    assert counts == [4]


def test_an_unexpected_failure_is_logged_with_its_traceback_an_expected_one_without() -> None:
    def handle(record: SqsRecord) -> None:
        if record.body == "boom":
            raise KeyError("surprise")
        fail_on_bad(record)

    with capture_logs() as logs:
        partial_batch_response(sqs_event("bad", "boom", "ok"), handle, expected=Retry)
    failed = [entry for entry in logs if entry["event"] == "record_failed"]
    assert [(e["message_id"], e["exc_info"]) for e in failed] == [("m0", False), ("m1", True)]
    assert failed[1]["error"] == "KeyError: 'surprise'"

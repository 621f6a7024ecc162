"""SQS batches for Lambda: each record handled alone, the failed ones answered for a retry.

This is what powertools' ``BatchProcessor(EventType.SQS)`` with ``process_partial_response``
did for the worker, without the import of every event class of powertools on a cold start.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog

from changecast.errors import InvalidInputError

log = structlog.get_logger()


@dataclass(frozen=True)
class SqsRecord:
    """The fields of one SQS record of a Lambda event that the worker reads."""

    message_id: str
    body: str
    receive_count: int
    """``attributes.ApproximateReceiveCount``: 1 on the first receive."""
    event_source_arn: str

    @classmethod
    def from_event(cls, raw: Mapping[str, Any]) -> SqsRecord:
        attributes = raw.get("attributes") or {}
        return cls(
            message_id=str(raw["messageId"]),
            body=str(raw["body"]),
            receive_count=int(attributes.get("ApproximateReceiveCount") or "1"),
            event_source_arn=str(raw.get("eventSourceARN") or ""),
        )


class BatchFailedError(Exception):
    """Every record of the batch failed: the invocation fails and Lambda retries the batch."""


def partial_batch_response(
    event: Mapping[str, Any],
    handle: Callable[[SqsRecord], None],
    *,
    expected: type[Exception] = Exception,
) -> dict[str, list[dict[str, str]]]:
    """Call ``handle`` on each record; the answer lists the records it raised on.

    ``expected`` failures were logged by ``handle``; any other is logged here with its
    traceback. When every record failed, ``BatchFailedError`` is raised (as powertools does).
    """
    records = event.get("Records")
    if not isinstance(records, list):
        raise InvalidInputError("not an SQS event: it has no list of Records")
    failed: list[str] = []
    for raw in records:
        record = SqsRecord.from_event(raw)
        try:
            handle(record)
        except Exception as exc:  # the batch's loop: one record's failure is retried alone
            log.warning(
                "record_failed",
                message_id=record.message_id,
                error=f"{type(exc).__name__}: {exc}"[:300],
                exc_info=not isinstance(exc, expected),
            )
            failed.append(record.message_id)
    if records and len(failed) == len(records):
        raise BatchFailedError(f"all {len(records)} records of the batch failed")
    return {"batchItemFailures": [{"itemIdentifier": ident} for ident in failed]}

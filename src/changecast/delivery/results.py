"""Delivery results: the ExecutionRecord of one run, saved in ``executions/`` and the index."""

from __future__ import annotations

from datetime import datetime

import structlog

from changecast.changes.ports import ChangeIndex
from changecast.delivery.ledger import DeliveryKey
from changecast.delivery.models import (
    DeliveryFailure,
    ExecutionDocument,
    ExecutionRecord,
    ExecutionStatus,
    execution_key,
)
from changecast.delivery.sending import Tally
from changecast.errors import ConflictError, NotFoundError
from changecast.ports import ObjectStore

log = structlog.get_logger()

WRITE_ATTEMPTS = 8


def status_of(*, delivered: int, failed: int) -> ExecutionStatus:
    """Delivered when nothing failed; partial when some failed; failed when nothing got through."""
    if failed == 0:
        return ExecutionStatus.DELIVERED
    return ExecutionStatus.PARTIAL if delivered else ExecutionStatus.FAILED


def run_record(
    *,
    key: DeliveryKey,
    tally: Tally,
    recipients: int,
    filtered: int,
    started_at: datetime,
    finished_at: datetime,
) -> ExecutionRecord:
    """The record of a run that went through every recipient."""
    return ExecutionRecord(
        change_id=key.change_id,
        version=key.version,
        customer_code=key.customer,
        event=key.event,
        status=status_of(delivered=tally.sent + tally.already_sent, failed=tally.failed),
        recipients=recipients,
        sent=tally.sent,
        already_sent=tally.already_sent,
        filtered=filtered,
        failed=tally.failed,
        failures=list(tally.failures),
        started_at=started_at,
        finished_at=finished_at,
    )


def failed_record(*, key: DeliveryKey, reason: str, at: datetime) -> ExecutionRecord:
    """The record of a trigger that could not be delivered at all (a permanent error)."""
    return ExecutionRecord(
        change_id=key.change_id,
        version=key.version,
        customer_code=key.customer,
        event=key.event,
        status=ExecutionStatus.FAILED,
        failures=[DeliveryFailure(recipient=None, reason=reason[:2_000])],
        started_at=at,
        finished_at=at,
    )


def save_record(
    record: ExecutionRecord, *, store: ObjectStore, index: ChangeIndex | None = None
) -> str:
    """Set ``events[event]`` in ``executions/{id}/v{n}/{code}.json`` (conditional writes)."""
    key = execution_key(record.change_id, record.version, record.customer_code)
    for _ in range(WRITE_ATTEMPTS):
        try:
            current = store.get(key)
        except NotFoundError:
            document = ExecutionDocument(
                change_id=record.change_id,
                version=record.version,
                customer_code=record.customer_code,
            )
            etag = None
        else:
            document = ExecutionDocument.model_validate_json(current.body)
            etag = current.etag
        events = {**document.events, record.event: record}
        body = document.model_copy(update={"events": events}).model_dump_json(
            by_alias=True, indent=2
        )
        try:
            store.put(key, body.encode(), if_none_match=etag is None, if_match=etag)
        except ConflictError:
            continue
        if index is not None:
            index.record_execution(record)
        return key
    raise ConflictError(f"{key} kept changing; the result was not saved", key=key)

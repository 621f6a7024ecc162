"""Delivery results: the ExecutionRecord of one run, saved in ``executions/`` and the read model."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import structlog

from changecast import layout
from changecast.delivery.ledger import DeliveryKey, LedgerState
from changecast.delivery.models import (
    DeliveryFailure,
    ExecutionDocument,
    ExecutionRecord,
    ExecutionStatus,
)
from changecast.delivery.ports import DeliveryReadModel, Ledger
from changecast.delivery.sending import Tally
from changecast.errors import ChangecastError, ConflictError, NotFoundError
from changecast.layout import execution_key
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


@dataclass(frozen=True)
class SentSoFar:
    """What the ledger holds for one delivery: messages sent, and recipients refused."""

    sent: int = 0
    failed: int = 0


def sent_so_far(ledger: Ledger, key: DeliveryKey) -> SentSoFar:
    """Count the delivery's ledger items (a failure record says how far the delivery got)."""
    entries = ledger.entries(key.partition)
    return SentSoFar(
        sent=sum(1 for e in entries if e.state is LedgerState.SENT),
        failed=sum(1 for e in entries if e.state is LedgerState.FAILED),
    )


def failed_record(
    *,
    key: DeliveryKey,
    reason: str,
    at: datetime,
    so_far: SentSoFar | None = None,
    dead_lettered: bool = False,
) -> ExecutionRecord:
    """The record of a trigger that could not be delivered (a permanent error, or dead-lettered).

    ``so_far`` (from the ledger) keeps what was sent before the failure: ``alreadySent`` counts
    those messages, which a redriven trigger skips.
    """
    counts = so_far or SentSoFar()
    return ExecutionRecord(
        change_id=key.change_id,
        version=key.version,
        customer_code=key.customer,
        event=key.event,
        status=ExecutionStatus.FAILED,
        already_sent=counts.sent,
        failed=counts.failed,
        failures=[DeliveryFailure(recipient=None, reason=reason[:2_000])],
        started_at=at,
        finished_at=at,
        dead_lettered=dead_lettered,
    )


def superseded_record(
    *, key: DeliveryKey, by: str, at: datetime, so_far: SentSoFar | None = None
) -> ExecutionRecord:
    """The record of a trigger that sent nothing because the change had moved past it.

    ``so_far`` (from the ledger) keeps what an earlier run sent before it was superseded.
    """
    counts = so_far or SentSoFar()
    return ExecutionRecord(
        change_id=key.change_id,
        version=key.version,
        customer_code=key.customer,
        event=key.event,
        status=ExecutionStatus.SUPERSEDED,
        already_sent=counts.sent,
        started_at=at,
        finished_at=at,
        superseded_by=by[:2_000],
    )


def save_record(
    record: ExecutionRecord,
    *,
    store: ObjectStore,
    read_model: DeliveryReadModel | None = None,
    keep_delivered: bool = False,
) -> str:
    """Set ``events[event]`` in ``executions/{id}/v{n}/{code}.json`` (conditional writes).

    With ``keep_delivered``, a record already ``delivered`` stays as it is (a superseded
    duplicate of a delivered trigger does not hide that it was delivered).

    Then the read model: S3 is the record, so a read-model failure is logged, not raised
    (``changecast index rebuild`` repairs it; the next save of the delivery does too).
    """
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
            kept = document.events.get(record.event)
            if keep_delivered and kept is not None and kept.status is ExecutionStatus.DELIVERED:
                return key
        events = {**document.events, record.event: record}
        body = document.model_copy(update={"events": events}).model_dump_json(
            by_alias=True, indent=2
        )
        try:
            store.put(key, body.encode(), if_none_match=etag is None, if_match=etag)
        except ConflictError:
            continue
        if read_model is not None:
            _record_read_model(read_model, record)
        return key
    raise ConflictError(f"{key} kept changing; the result was not saved", key=key)


def _record_read_model(read_model: DeliveryReadModel, record: ExecutionRecord) -> None:
    try:
        read_model.record_execution(record)
    except ChangecastError as exc:
        log.warning(
            "delivery_read_model_not_written",
            change_id=record.change_id,
            customer=record.customer_code,
            error=exc.message[:300],
        )


def read_executions(store: ObjectStore, change_id: str) -> list[ExecutionDocument]:
    """Every ``executions/{id}/v*/{code}.json`` document of a change (S3: redrive, not pages)."""
    found = []
    for key in store.list_keys(layout.execution_prefix(change_id)):
        try:
            found.append(ExecutionDocument.model_validate_json(store.get(key).body))
        except NotFoundError:
            continue
    return found

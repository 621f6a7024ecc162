"""AWS Lambda entry point: one customer's SQS batch, reporting partial batch failures.

Set ``CHANGECAST_CUSTOMER`` (and the usual ``CHANGECAST_*`` settings); the Runtime is built once
per cold start. A failed record is retried alone; the others of its batch are not.
"""

from __future__ import annotations

import functools
import os
import threading
from dataclasses import dataclass, field
from typing import Any

import structlog

from changecast.aws.sqs import SqsQueue, queue_url_from_arn
from changecast.bootstrap import Runtime, build_runtime
from changecast.errors import InvalidInputError
from changecast.logging import configure_logging
from changecast.settings import load_settings
from changecast.workers.processing import Attempt, CustomerProcessor, Outcome
from changecast.workers.runner import dead_letter_attributes
from changecast.workers.sqs_batch import SqsRecord, partial_batch_response
from changecast.workers.wiring import delivery_deps

log = structlog.get_logger()


class RecordFailedError(Exception):
    """Marks one record failed, so SQS redelivers it (and dead-letters it after maxReceiveCount)."""


@dataclass
class LambdaWorker:
    """Delivers SQS records for one customer."""

    runtime: Runtime
    processor: CustomerProcessor
    stop: threading.Event = field(default_factory=threading.Event)
    _dead_letters: dict[str, SqsQueue | None] = field(default_factory=dict)
    _max_receives: dict[str, int] = field(default_factory=dict)

    def record(self, record: SqsRecord) -> None:
        """Process one record; raise to have it retried."""
        customer = self.processor.code
        with structlog.contextvars.bound_contextvars(
            customer=customer, message_id=record.message_id
        ):
            attempt = self.attempt(record)
            verdict = self.processor.handle(record.body, stop=self.stop, attempt=attempt)
            log.info("record_settled", outcome=verdict.outcome.value, receives=attempt.receives)
            if verdict.outcome is Outcome.DONE:
                return
            if verdict.outcome is Outcome.DEAD:
                self.dead_letter(record, verdict.reason, attempt.receives)
                return
            raise RecordFailedError(verdict.reason or verdict.outcome.value)

    def attempt(self, record: SqsRecord) -> Attempt:
        """The record's receive count, against its queue's maxReceiveCount."""
        receives = record.receive_count
        return Attempt(receives=receives, max_receives=self.max_receives(record.event_source_arn))

    def max_receives(self, queue_arn: str) -> int:
        """The queue's maxReceiveCount (the setting when it has none), looked up once."""
        if queue_arn not in self._max_receives:
            sqs = self.runtime.aws.client("sqs")
            found = SqsQueue(sqs, queue_url_from_arn(sqs, queue_arn)).max_receive_count()
            default = self.runtime.settings.delivery.max_receive_count
            self._max_receives[queue_arn] = found or default
        return self._max_receives[queue_arn]

    def dead_letter(self, record: SqsRecord, reason: str, receives: int = 1) -> None:
        """Send a poison record to its queue's DLQ; without one, it is dropped (and logged)."""
        dead_letters = self.dead_letters(record.event_source_arn)
        if dead_letters is None:
            log.error("record_dropped", reason=reason[:300], note="no dead-letter queue")
            return
        attributes = dead_letter_attributes(reason, self.processor.code, receives)
        dead_letters.send(record.body, attributes=attributes)

    def dead_letters(self, queue_arn: str) -> SqsQueue | None:
        """The DLQ of the record's queue (from its redrive policy), looked up once."""
        if queue_arn not in self._dead_letters:
            sqs = self.runtime.aws.client("sqs")
            url = SqsQueue(sqs, queue_url_from_arn(sqs, queue_arn)).dead_letter_url()
            self._dead_letters[queue_arn] = SqsQueue(sqs, url) if url else None
        return self._dead_letters[queue_arn]


def build_lambda_worker(runtime: Runtime, code: str, *, ses: Any = None) -> LambdaWorker:
    deps = delivery_deps(runtime, code, ses=ses)
    processor = CustomerProcessor(deps=deps, bucket=runtime.config.s3_config.bucket_name)
    return LambdaWorker(runtime=runtime, processor=processor)


@functools.cache
def current_worker() -> LambdaWorker:
    """The cold start: settings from the environment, the customer from CHANGECAST_CUSTOMER."""
    configure_logging(json_output=True)
    code = os.environ.get("CHANGECAST_CUSTOMER", "")
    if not code:
        raise InvalidInputError("set CHANGECAST_CUSTOMER to the customer this function serves")
    return build_lambda_worker(build_runtime(load_settings(), process="worker"), code)


def handle_batch(event: dict[str, Any], context: Any, worker: LambdaWorker) -> dict[str, Any]:
    """Process ``event`` with ``worker``; the answer lists only the failed records.

    The invocation's metrics are flushed at its end (one EMF line per customer and event).
    """
    del context
    try:
        return dict(partial_batch_response(event, worker.record, expected=RecordFailedError))
    finally:
        worker.processor.deps.metrics.flush()


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda handler (``changecast.workers.lambda_handler.handler``)."""
    return handle_batch(event, context, current_worker())

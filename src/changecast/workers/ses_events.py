"""The SES events worker: the hub ``ses-events`` queue, as a Lambda (SQS) or a long-poll loop.

Each record is one SNS notification holding one SES event. It is applied (``event_apply``) and
deleted; an unknown or malformed one is dead-lettered with a ``changecast-reason`` attribute;
an event whose ledger entry is not written yet is retried, and dead-lettered on its last
receives. The Lambda applies a batch's events together (``apply_batch``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog

from changecast.aws.dynamodb import DynamoDbSuppressions
from changecast.aws.ses import SesContactListAdapter
from changecast.aws.sqs import SqsQueue, queue_url_from_arn
from changecast.bootstrap import Runtime, build_runtime
from changecast.contacts.ports import SuppressionPort
from changecast.delivery.event_apply import Applied, EventDeps, apply_batch, apply_event
from changecast.delivery.sending import StopSignal
from changecast.delivery.ses_events import EventSource, SesEvent, parse_event
from changecast.errors import ChangecastError, InvalidInputError
from changecast.logging import configure_logging
from changecast.settings import load_settings
from changecast.workers.processing import DONE, Attempt, Outcome, Verdict, classify
from changecast.workers.runner import QueueWorker, dead_letter_attributes
from changecast.workers.wiring import ledger_table, read_model_of

log = structlog.get_logger()

HUB = "ses-events"
"""The ``changecast-customer`` attribute of a dead letter whose customer is not known."""


@dataclass
class EventsProcessor:
    """Turns one queue body into a verdict; never raises our error kinds."""

    deps: EventDeps

    def applied(self, body: str, attempt: Attempt) -> tuple[Verdict, Applied | None]:
        """The verdict for ``body`` and, when it was applied, what it did."""
        try:
            event = parse_event(body)
            with structlog.contextvars.bound_contextvars(ses_message_id=event.message_id):
                return DONE, apply_event(event, deps=self.deps)
        except ChangecastError as exc:
            return self.verdict_of(exc, attempt), None

    def verdict_of(self, exc: ChangecastError, attempt: Attempt) -> Verdict:
        verdict = classify(exc)
        if verdict.outcome is Outcome.RETRY and attempt.final:
            verdict = Verdict(Outcome.DEAD, attempt.dead_reason(verdict.reason))
        log.warning("ses_event_refused", outcome=verdict.outcome.value, reason=verdict.reason)
        return verdict

    def applied_batch(
        self, bodies: Sequence[tuple[str, Attempt]]
    ) -> list[tuple[Verdict, Applied | None]]:
        """Every body parsed first, then applied together (``apply_batch``)."""
        verdicts: list[tuple[Verdict, Applied | None] | None] = [None] * len(bodies)
        parsed: list[tuple[int, SesEvent]] = []
        for i, (body, attempt) in enumerate(bodies):
            try:
                parsed.append((i, parse_event(body)))
            except ChangecastError as exc:
                verdicts[i] = (self.verdict_of(exc, attempt), None)
        batch = apply_batch([event for _, event in parsed], deps=self.deps)
        for (i, _), result in zip(parsed, batch.results, strict=True):
            if isinstance(result, ChangecastError):
                verdicts[i] = (self.verdict_of(result, bodies[i][1]), None)
            else:
                verdicts[i] = (DONE, result)
        return [v for v in verdicts if v is not None]

    def handle(self, body: str, *, stop: StopSignal, attempt: Attempt | None = None) -> Verdict:
        """The ``QueueWorker`` processor interface (the events loop of ``events run``)."""
        del stop  # one event is short: there is nothing to stop in the middle of
        return self.applied(body, attempt or Attempt())[0]


def event_deps(runtime: Runtime) -> EventDeps:
    """The events worker's ports: the ledger, our suppressions, the read model, each SES list.

    A customer's SES list is reached through its ``ses_events_role_arn`` (only
    PutSuppressedDestination), else its ``ses_role_arn``; the session is cached by ``assume``.
    """

    def account_list(code: str) -> SuppressionPort:
        mapping = runtime.directory.get(code)
        session = runtime.aws.assume(
            mapping.ses_events_role_arn or mapping.ses_role_arn,
            session_name=f"changecast-ses-events-{code}",
            external_id=mapping.ses_role_external_id,
        )
        return SesContactListAdapter(
            runtime.aws.client("sesv2", session=session, region=mapping.region)
        )

    dynamodb = runtime.aws.client("dynamodb")
    return EventDeps(
        sources=event_sources(runtime),
        ledger=runtime.ledger,
        suppressions=DynamoDbSuppressions(dynamodb, ledger_table(runtime)),
        read_model=read_model_of(runtime),
        account_list=account_list,
        accounts={
            code: mapping.account_id for code, mapping in runtime.config.customer_mappings.items()
        },
    )


def event_sources(runtime: Runtime) -> list[EventSource]:
    """Each customer's events topic: config.json's ``ses_events_topic_arn``, else its account's.

    Under ``local up`` the simulated SES publishes to one topic per customer in the hub account
    (``local.provision.events_topic_arn``), which is then the customer's topic.
    """
    local_topic: Callable[[str], str] | None = None
    if runtime.local is not None:  # only under ``local up``: the Lambda package has no moto
        from changecast.local.provision import events_topic_arn

        local_topic = functools.partial(events_topic_arn, runtime.config)
    return [
        EventSource(
            code,
            mapping.account_id,
            mapping.region,
            local_topic(code) if local_topic else mapping.ses_events_topic_arn,
        )
        for code, mapping in runtime.config.customer_mappings.items()
    ]


def events_queue_url(runtime: Runtime) -> str:
    if runtime.local is not None and runtime.local.events_queue_url:
        return runtime.local.events_queue_url
    url = runtime.settings.events.queue_url
    if not url:
        raise InvalidInputError("set CHANGECAST_EVENTS__QUEUE_URL to the hub ses-events queue")
    return url


def build_events_worker(runtime: Runtime, *, wait_seconds: int | None = None) -> QueueWorker:
    """The long-poll loop on the hub ``ses-events`` queue (``changecast events run``)."""
    sqs = runtime.aws.client("sqs")
    queue = SqsQueue(sqs, events_queue_url(runtime))
    dlq = queue.dead_letter_url()
    return QueueWorker(
        customer=HUB,
        queue=queue,
        processor=EventsProcessor(event_deps(runtime)),
        dead_letters=SqsQueue(sqs, dlq) if dlq else None,
        wait_seconds=runtime.settings.events.wait_seconds if wait_seconds is None else wait_seconds,
        batch_size=10,
        max_receives=runtime.settings.delivery.max_receive_count,
        retry_base=2.0,
        metrics=runtime.metrics,
    )


@dataclass
class EventsLambda:
    """SQS batches of SES events, answered with partial batch failures."""

    processor: EventsProcessor
    queues: Callable[[str], tuple[SqsQueue | None, int]]
    """Queue ARN -> (its DLQ, its maxReceiveCount)."""
    _settled: dict[str, tuple[SqsQueue | None, int]] = field(default_factory=dict)

    def handle_batch(self, event: dict[str, Any]) -> dict[str, Any]:
        """Parse every record and apply them together; answer the ones to retry."""
        failures: list[str] = []
        records = list(event.get("Records") or [])
        inputs: list[tuple[str, Attempt]] = []
        for record in records:
            source = record.get("eventSourceARN") or record.get("eventSourceArn") or ""
            _dead_letters, max_receives = self._queue(str(source))
            receives = int((record.get("attributes") or {}).get("ApproximateReceiveCount", "1"))
            inputs.append((str(record.get("body", "")), Attempt(receives, max_receives)))
        verdicts = self.processor.applied_batch(inputs)
        for record, (_body, attempt), (verdict, _applied) in zip(
            records, inputs, verdicts, strict=True
        ):
            ident = str(record.get("messageId", ""))
            if verdict.outcome is Outcome.DEAD:
                source = record.get("eventSourceARN") or record.get("eventSourceArn") or ""
                dead_letters = self._queue(str(source))[0]
                if not self._dead_letter(dead_letters, record, verdict.reason, attempt.receives):
                    failures.append(ident)
            elif verdict.outcome is not Outcome.DONE:
                failures.append(ident)
        return {"batchItemFailures": [{"itemIdentifier": i} for i in dict.fromkeys(failures)]}

    def _queue(self, arn: str) -> tuple[SqsQueue | None, int]:
        if arn not in self._settled:
            self._settled[arn] = self.queues(arn)
        return self._settled[arn]

    @staticmethod
    def _dead_letter(
        dead_letters: SqsQueue | None, record: dict[str, Any], reason: str, receives: int
    ) -> bool:
        """Move the record to the DLQ; False (retry it) when that fails or there is none."""
        if dead_letters is None:
            log.error("ses_event_not_dead_lettered", reason=reason[:300], note="no DLQ")
            return False
        try:
            dead_letters.send(
                str(record.get("body", "")),
                attributes=dead_letter_attributes(reason, HUB, receives),
            )
        except ChangecastError as exc:
            log.warning("ses_dead_letter_failed", error=exc.message)
            return False
        return True


def events_lambda(runtime: Runtime) -> EventsLambda:
    sqs = runtime.aws.client("sqs")

    def queues(arn: str) -> tuple[SqsQueue | None, int]:
        queue = SqsQueue(sqs, queue_url_from_arn(sqs, arn))
        dlq = queue.dead_letter_url()
        limit = queue.max_receive_count() or runtime.settings.delivery.max_receive_count
        return (SqsQueue(sqs, dlq) if dlq else None), limit

    return EventsLambda(processor=EventsProcessor(event_deps(runtime)), queues=queues)


@functools.cache
def current_events_lambda() -> EventsLambda:
    """The cold start: settings from the environment."""
    configure_logging(json_output=True)
    return events_lambda(build_runtime(load_settings(), process="worker"))


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda handler (``changecast.workers.ses_events.handler``)."""
    del context
    return current_events_lambda().handle_batch(event)

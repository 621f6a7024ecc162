"""One queue message for one customer: parse, check, deliver; every error is mapped here, once.

Permanent errors are recorded and dead-lettered; transient ones are retried through the queue.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from functools import partial

import structlog
from pydantic import ValidationError

from changecast.delivery.ledger import DeliveryKey
from changecast.delivery.models import DistributionEvent
from changecast.delivery.ports import RecipientsBusyError
from changecast.delivery.sending import DeliveryStoppedError, StopSignal
from changecast.delivery.service import (
    DeliveryDeps,
    DeliveryRequest,
    deliver,
    load_version,
    record_failure,
)
from changecast.distribution.models import TRIGGER_KEY, Trigger
from changecast.errors import (
    ChangecastError,
    InvalidInputError,
    MalformedInputError,
    NotFoundError,
    PermissionDeniedError,
    UpstreamError,
)
from changecast.metrics import names
from changecast.workers.messages import EmbeddedRequest, ObjectRef, parse_message

log = structlog.get_logger()


class Outcome(StrEnum):
    DONE = "done"
    DEAD = "dead"
    RETRY = "retry"
    STOPPED = "stopped"


class WrongPrefixError(PermissionDeniedError):
    """A key outside ``customers/{this customer}/`` (or another bucket): never this worker's."""


@dataclass(frozen=True)
class Verdict:
    """What to do with the message: delete, dead-letter, retry (maybe after a delay), or release."""

    outcome: Outcome
    reason: str = ""
    retry_after: float | None = None


DONE = Verdict(Outcome.DONE)


def classify(exc: BaseException) -> Verdict:
    """The one mapping from our error kinds to the queue's retry or dead-letter.

    Dead (record it, dead-letter it): malformed message, invalid input, not found, wrong prefix,
    non-retryable upstream. Retry: retryable upstream (throttling, 5xx, network, STS), conflicts,
    other permission errors, and recipients held by another delivery (after their lease).
    Stopped: the message goes back to the queue at once.
    """
    reason = str(exc)[:1_000]
    if isinstance(exc, DeliveryStoppedError):
        return Verdict(Outcome.STOPPED, reason)
    if isinstance(exc, RecipientsBusyError):
        return Verdict(Outcome.RETRY, reason, retry_after=exc.retry_after)
    if isinstance(exc, UpstreamError):
        return Verdict(Outcome.RETRY if exc.retryable else Outcome.DEAD, reason)
    if isinstance(exc, InvalidInputError | NotFoundError | WrongPrefixError | ValidationError):
        return Verdict(Outcome.DEAD, reason)
    return Verdict(Outcome.RETRY, reason)


def combine(verdicts: list[Verdict]) -> Verdict:
    """A message with several records: stopped beats retry, which beats dead, which beats done."""
    for outcome in (Outcome.STOPPED, Outcome.RETRY, Outcome.DEAD):
        chosen = [v for v in verdicts if v.outcome is outcome]
        if chosen:
            delays = [v.retry_after for v in chosen if v.retry_after is not None]
            return Verdict(
                outcome, "; ".join(v.reason for v in chosen)[:1_000], max(delays, default=None)
            )
    return DONE


@dataclass
class CustomerProcessor:
    """Delivers the messages of one customer's queue."""

    deps: DeliveryDeps
    bucket: str

    @property
    def code(self) -> str:
        return self.deps.customer.customer_code

    def handle(self, body: str, *, stop: StopSignal) -> Verdict:
        """Process one message body; never raises our error kinds (they become verdicts).

        A dead message is counted (``TriggersDeadLettered``) here, for the Lambda handler and the
        queue loop alike; they flush the metrics.
        """
        verdict = self._verdict(body, stop)
        if verdict.outcome is Outcome.DEAD:
            self.deps.metrics.count(names.TRIGGERS_DEAD_LETTERED, customer=self.code)
        return verdict

    def _verdict(self, body: str, stop: StopSignal) -> Verdict:
        try:
            parsed = parse_message(body)
        except MalformedInputError as exc:
            log.warning("message_malformed", reason=exc.message[:300])
            return classify(exc)
        verdicts = [
            self._guarded(ref.key, partial(self._object, ref, stop)) for ref in parsed.objects
        ]
        if parsed.embedded is not None:
            request = parsed.embedded
            verdicts.append(self._guarded(None, lambda: self._embedded(request, stop)))
        return combine(verdicts)

    def _guarded(self, key: str | None, run: Callable[[], None]) -> Verdict:
        try:
            run()
        except (ChangecastError, ValidationError, DeliveryStoppedError) as exc:
            verdict = classify(exc)
            if verdict.outcome is Outcome.DEAD:
                log.warning("trigger_refused", key=key, reason=verdict.reason[:300])
                self._record(key, verdict.reason)
            elif verdict.outcome is Outcome.RETRY:
                log.warning("trigger_retry", key=key, reason=verdict.reason[:300])
            return verdict
        return DONE

    def _record(self, key: str | None, reason: str) -> None:
        """A failed ExecutionRecord, when the key says which trigger of ours this was."""
        match = TRIGGER_KEY.match(key or "")
        if match is None or match.group(1) != self.code:
            return
        try:
            event = DistributionEvent(match.group(4))
        except ValueError:
            return
        delivery = DeliveryKey(self.code, match.group(2), int(match.group(3)), event)
        try:
            record_failure(key=delivery, reason=reason, deps=self.deps)
        except ChangecastError as exc:
            log.warning("failure_not_recorded", key=key, error=exc.message[:300])

    def _object(self, ref: ObjectRef, stop: StopSignal) -> None:
        prefix = f"customers/{self.code}/"
        if ref.bucket != self.bucket or not ref.key.startswith(prefix):
            raise WrongPrefixError(
                f"s3://{ref.bucket}/{ref.key} is outside s3://{self.bucket}/{prefix}", key=ref.key
            )
        if TRIGGER_KEY.match(ref.key) is None:
            raise MalformedInputError(f"{ref.key} is not a trigger key", key=ref.key)
        stored = self.deps.store.get(ref.key)
        trigger = Trigger.model_validate_json(stored.body)
        if trigger.customer_code != self.code or trigger.key != ref.key:
            raise InvalidInputError(f"the trigger at {ref.key} names another trigger", key=ref.key)
        with structlog.contextvars.bound_contextvars(
            change_id=trigger.change_id, version=trigger.version, delivery_event=trigger.event.value
        ):
            change = load_version(trigger, store=self.deps.store)
            request = DeliveryRequest(
                change=change,
                event=trigger.event,
                was_approved=trigger.was_approved,
                invite_sent=trigger.invite_sent,
            )
            deliver(request, deps=self.deps, stop=stop)

    def _embedded(self, request: EmbeddedRequest, stop: StopSignal) -> None:
        if request.customer_code != self.code:
            raise WrongPrefixError(
                f"an embedded-metadata message for customer {request.customer_code!r} "
                f"reached the queue of {self.code!r}"
            )
        change = request.change
        with structlog.contextvars.bound_contextvars(
            change_id=change.change_id,
            version=change.version,
            delivery_event=request.event.value,
            execution_id=request.execution_id,
        ):
            delivery = DeliveryRequest.for_change(change, request.event)
            try:
                deliver(delivery, deps=self.deps, stop=stop)
            except (InvalidInputError, NotFoundError) as exc:
                key = DeliveryKey(self.code, change.change_id, change.version, request.event)
                record_failure(key=key, reason=exc.message, deps=self.deps)
                raise

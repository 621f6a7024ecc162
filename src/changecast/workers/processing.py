"""One queue message for one customer: parse, check, deliver; every error is mapped here, once.

Permanent errors are recorded and dead-lettered at once; transient ones are retried through the
queue until its last receives. A final attempt (receive count at ``maxReceiveCount - 1`` or
more) first records the delivery as failed and dead-lettered, so that a trigger SQS moves to
the DLQ (a worker killed on every receive) always has a failed record; a run that finishes
overwrites it, and one that fails is dead-lettered by us, with the reason.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from functools import partial

import structlog
from pydantic import ValidationError

from changecast import layout
from changecast.changes.models import Change
from changecast.delivery.currency import latest_change, supersession, window_of
from changecast.delivery.ledger import DeliveryKey
from changecast.delivery.ports import RecipientsBusyError
from changecast.delivery.results import (
    failed_record,
    save_record,
    sent_so_far,
    superseded_record,
)
from changecast.delivery.sending import DeliveryStoppedError, StopSignal
from changecast.delivery.service import (
    DeliveryDeps,
    DeliveryRequest,
    deliver,
    load_version,
)
from changecast.distribution.models import DistributionEvent, Trigger
from changecast.errors import (
    ChangecastError,
    InvalidInputError,
    MalformedInputError,
    NotFoundError,
    PermissionDeniedError,
    UpstreamError,
)
from changecast.layout import TRIGGER_KEY
from changecast.metrics import names
from changecast.workers.messages import EmbeddedRequest, ObjectRef, contradiction, parse_message

log = structlog.get_logger()

BUSY_WAIT_MAX = 30.0
"""Wait in place (at most this long, twice) for recipients another run holds, not via a receive."""
BUSY_WAITS = 2


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


@dataclass(frozen=True)
class Attempt:
    """Which receive of its message this is (SQS ApproximateReceiveCount), of how many."""

    receives: int = 1
    max_receives: int = 5

    @property
    def final(self) -> bool:
        """The last receives: a failure now is dead-lettered by us, not left to SQS."""
        return self.receives >= max(self.max_receives - 1, 1)

    def dead_reason(self, reason: str) -> str:
        return f"dead-lettered after {self.receives} receives: {reason}"[:1_000]


CRASHED = "no attempt finished (the worker stopped or was killed during each)"


def classify(exc: BaseException) -> Verdict:
    """The one mapping from our error kinds to the queue's retry or dead-letter.

    Dead (record it, dead-letter it): malformed message, invalid input, not found, wrong prefix,
    non-retryable upstream (among them the permanent kinds of ``aws.errors``: the customer's
    role denied or missing, SES sending paused, the sender unverified). Retry: retryable
    upstream (throttling, 5xx, network, STS), conflicts, other permission errors, and
    recipients held by another delivery (after their lease). Stopped: the message goes back
    to the queue at once.
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


def delivery_of(key: str | None, code: str) -> DeliveryKey | None:
    """The delivery a trigger key names, when it is one of ``code``'s triggers."""
    match = TRIGGER_KEY.match(key or "")
    if match is None or match.group(1) != code:
        return None
    try:
        event = DistributionEvent(match.group(4))
    except ValueError:
        return None
    return DeliveryKey(code, match.group(2), int(match.group(3)), event)


@dataclass
class CustomerProcessor:
    """Delivers the messages of one customer's queue."""

    deps: DeliveryDeps
    bucket: str

    @property
    def code(self) -> str:
        return self.deps.customer.customer_code

    def handle(self, body: str, *, stop: StopSignal, attempt: Attempt | None = None) -> Verdict:
        """Process one message body; never raises our error kinds (they become verdicts).

        A dead message is counted (``TriggersDeadLettered``) here, for the Lambda handler and the
        queue loop alike; they flush the metrics.
        """
        verdict = self._verdict(body, stop, attempt or Attempt())
        if verdict.outcome is Outcome.DEAD:
            self.deps.metrics.count(names.TRIGGERS_DEAD_LETTERED, customer=self.code)
        return verdict

    def _verdict(self, body: str, stop: StopSignal, attempt: Attempt) -> Verdict:
        try:
            parsed = parse_message(body)
        except MalformedInputError as exc:
            log.warning("message_malformed", reason=exc.message[:300])
            return classify(exc)
        verdicts = [
            self._guarded(ref.key, partial(self._object, ref, stop, attempt), attempt)
            for ref in parsed.objects
        ]
        if parsed.embedded is not None:
            request = parsed.embedded
            verdicts.append(
                self._guarded(None, lambda: self._embedded(request, stop, attempt), attempt)
            )
        return combine(verdicts)

    def _guarded(self, key: str | None, run: Callable[[], None], attempt: Attempt) -> Verdict:
        try:
            run()
        except (ChangecastError, ValidationError, DeliveryStoppedError) as exc:
            verdict = classify(exc)
            if verdict.outcome is Outcome.RETRY and attempt.final:
                verdict = Verdict(Outcome.DEAD, attempt.dead_reason(verdict.reason))
            if verdict.outcome is Outcome.DEAD:
                log.warning("trigger_refused", key=key, reason=verdict.reason[:300])
                self._record(delivery_of(key, self.code), verdict.reason)
            elif verdict.outcome is Outcome.RETRY:
                log.warning("trigger_retry", key=key, reason=verdict.reason[:300])
            return verdict
        return DONE

    def _record(self, delivery: DeliveryKey | None, reason: str) -> None:
        """A failed, dead-lettered ExecutionRecord, keeping the ledger's count of what was sent."""
        if delivery is None:
            return
        try:
            record = failed_record(
                key=delivery,
                reason=reason,
                at=self.deps.clock.now(),
                so_far=sent_so_far(self.deps.ledger, delivery),
                dead_lettered=True,
            )
            save_record(record, store=self.deps.store, read_model=self.deps.read_model)
        except ChangecastError as exc:
            log.warning(
                "failure_not_recorded", delivery=delivery.partition, error=exc.message[:300]
            )

    def _superseded(self, event: DistributionEvent, change: Change) -> bool:
        """Whether the change has moved past this trigger; if so it is recorded ``superseded``.

        The one currency rule (``delivery.currency``) against the change's current document;
        a change without one (an embedded message of another tool) is judged by ``change``
        itself. A superseded trigger sends nothing and is not a failure: its message is done.
        """
        latest = latest_change(self.deps.store, change.change_id) or change
        now = self.deps.clock.now()
        found = supersession(event, change.version, latest, now=now, window=window_of(change))
        if found is None:
            return False
        key = DeliveryKey(self.code, change.change_id, change.version, event)
        log.info("trigger_superseded", superseded_by=found.by[:300])
        record = superseded_record(
            key=key, by=found.by, at=now, so_far=sent_so_far(self.deps.ledger, key)
        )
        save_record(
            record, store=self.deps.store, read_model=self.deps.read_model, keep_delivered=True
        )
        self.deps.metrics.count(names.TRIGGERS_SUPERSEDED, customer=self.code, event=event.value)
        return True

    def _deliver(self, request: DeliveryRequest, stop: StopSignal, attempt: Attempt) -> None:
        """Deliver; on a final attempt the failure is recorded first (a kill leaves it standing).

        Recipients held by a run that died are waited for here (their lease is short), rather
        than through another receive of the message, which a crash loop can ill afford.
        """
        if attempt.final:
            key = DeliveryKey(
                self.code, request.change.change_id, request.change.version, request.event
            )
            log.warning("final_attempt", receives=attempt.receives, limit=attempt.max_receives)
            self._record(key, attempt.dead_reason(CRASHED))
        for waited in range(BUSY_WAITS + 1):
            try:
                deliver(request, deps=self.deps, stop=stop)
                return
            except RecipientsBusyError as exc:
                if waited == BUSY_WAITS or exc.retry_after > BUSY_WAIT_MAX:
                    raise
                log.info("recipients_busy_waiting", seconds=round(exc.retry_after, 1))
                _pause(exc.retry_after, stop)

    def _object(self, ref: ObjectRef, stop: StopSignal, attempt: Attempt) -> None:
        prefix = layout.customer_prefix(self.code)
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
            if self._superseded(trigger.event, change):
                return
            request = DeliveryRequest(
                change=change,
                event=trigger.event,
                was_approved=trigger.was_approved,
                invite_sent=trigger.invite_sent,
                replaces_version=trigger.replaces_version,
                reason=trigger.reason,
                completed_at=(
                    trigger.created_at if trigger.event is DistributionEvent.COMPLETED else None
                ),
            )
            self._deliver(request, stop, attempt)

    def _embedded(self, request: EmbeddedRequest, stop: StopSignal, attempt: Attempt) -> None:
        if request.customer_code != self.code:
            raise WrongPrefixError(
                f"an embedded-metadata message for customer {request.customer_code!r} "
                f"reached the queue of {self.code!r}"
            )
        change = request.change
        conflict = contradiction(request.event, change)
        if conflict is not None:
            raise InvalidInputError(conflict, execution_id=request.execution_id)
        with structlog.contextvars.bound_contextvars(
            change_id=change.change_id,
            version=change.version,
            delivery_event=request.event.value,
            execution_id=request.execution_id,
        ):
            delivery = DeliveryRequest.for_change(change, request.event)
            key = DeliveryKey(self.code, change.change_id, change.version, request.event)
            try:
                if self._superseded(request.event, change):
                    return
                self._deliver(delivery, stop, attempt)
            except ChangecastError as exc:
                if classify(exc).outcome is Outcome.DEAD:
                    self._record(key, exc.message)
                elif attempt.final:
                    self._record(key, attempt.dead_reason(exc.message))
                raise


def _pause(seconds: float, stop: StopSignal) -> None:
    """Sleep ``seconds``, waking early when a stop is requested."""
    deadline = time.monotonic() + seconds
    while not stop.is_set() and time.monotonic() < deadline:
        time.sleep(min(0.1, max(deadline - time.monotonic(), 0)))

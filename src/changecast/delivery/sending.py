"""The per-recipient send loop: claim in the ledger, pace, send, record; resume after a crash.

Recipients are sent from a small thread pool sized to fill the account's rate (the bucket paces
every attempt). A throttled or failing call backs off and retries the same recipient; a
recipient SES rejects is recorded as failed and the loop goes on; a stop request takes effect
between recipients: no new recipient starts, and those in flight finish and are recorded.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

import structlog

from changecast.delivery.ledger import Channel, Claim, ClaimOutcome, DeliveryKey, LedgerKey
from changecast.delivery.models import DeliveryFailure
from changecast.delivery.pacing import Backoff, TokenBucket, concurrency_for
from changecast.delivery.ports import Ledger, RecipientRejectedError
from changecast.errors import UpstreamError
from changecast.ports import Clock

log = structlog.get_logger()

REASON_MAX = 500


class StopSignal(Protocol):
    """A ``threading.Event`` is one: set when the worker must stop after those in flight."""

    def is_set(self) -> bool: ...


class DeliveryStoppedError(Exception):
    """A stop was requested; the trigger is left unfinished for its message to be redelivered."""


@dataclass
class Tally:
    """What one run did, counted per message sent (email or invite)."""

    sent: int = 0
    already_sent: int = 0
    failed: int = 0
    throttled: int = 0
    """SES throttling responses; each is backed off on and retried, up to ``max_throttled``."""
    failures: list[DeliveryFailure] = field(default_factory=list)
    busy_until: datetime | None = None
    rate_reduced: int = 0
    """Times the bucket's rate fell for a limit or a storm (``TokenBucket.reductions``)."""

    def busy(self, until: datetime | None, now: datetime) -> None:
        moment = until or now
        if self.busy_until is None or moment > self.busy_until:
            self.busy_until = moment


class _Abandoned(Exception):
    """Raised in a retry loop after another recipient failed for good; the claim is released."""


@dataclass
class Sender:
    """Sends one delivery's messages from ``concurrency`` threads (default: from the bucket's rate).

    Every recipient is claimed in the ledger before its send and marked after it, so no
    recipient is sent twice by concurrent threads or by two workers; a failed send gives its
    claim back. The tally is updated under a lock.
    """

    delivery: DeliveryKey
    ledger: Ledger
    bucket: TokenBucket
    clock: Clock
    owner: str
    stop: StopSignal
    lease: timedelta = timedelta(seconds=60)
    backoff: Backoff = field(default_factory=Backoff)
    sleep: Callable[[float], None] = lambda _: None
    max_throttled: int = 60
    max_transient: int = 5
    concurrency: int | None = None
    tally: Tally = field(default_factory=Tally)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _abandon: threading.Event = field(default_factory=threading.Event, repr=False)

    def send_all(
        self,
        channel: Channel,
        topic: str,
        recipients: Sequence[str],
        send: Callable[[str], str],
    ) -> None:
        """Send to each recipient not yet sent; raises on a stop or an unrecoverable error.

        After an unrecoverable error no new recipient starts; those in flight finish (a retry
        loop gives up and releases its claim), then the first such error is raised.
        """
        width = self.concurrency or concurrency_for(self.bucket.rate)
        width = max(1, min(width, len(recipients)))
        keys = (LedgerKey(self.delivery, channel, recipient) for recipient in recipients)
        self._abandon.clear()
        stopped = False
        errors: list[BaseException] = []
        with ThreadPoolExecutor(max_workers=width, thread_name_prefix="send") as pool:
            running: set[Future[bool]] = set()
            for key in keys:
                while len(running) >= width:
                    done, running = wait(running, return_when=FIRST_COMPLETED)
                    stopped |= _collect(done, errors)
                if self.stop.is_set():
                    stopped = True
                if stopped or errors:
                    break
                running.add(pool.submit(self._guarded, key, topic, send))
            stopped |= _collect(wait(running).done, errors)
        real = [e for e in errors if not isinstance(e, DeliveryStoppedError | _Abandoned)]
        if real:
            raise real[0]
        if stopped or errors:
            raise DeliveryStoppedError("stop requested")

    def _guarded(self, key: LedgerKey, topic: str, send: Callable[[str], str]) -> bool:
        """One recipient; False when it was not started because the run is ending."""
        if self.stop.is_set() or self._abandon.is_set():
            return False
        try:
            self._one(key, topic, send)
        except BaseException:
            self._abandon.set()
            raise
        return True

    def _one(self, key: LedgerKey, topic: str, send: Callable[[str], str]) -> None:
        claim = self._claim(key, topic)
        if claim.outcome is ClaimOutcome.SENT:
            with self._lock:
                self.tally.already_sent += 1
            return
        if claim.outcome is ClaimOutcome.BUSY:
            log.info("recipient_busy", channel=key.channel.value, lease_until=claim.lease_until)
            with self._lock:
                self.tally.busy(claim.lease_until, self.clock.now())
            return
        try:
            message_id = self._send_or_release(key, topic, send)
        except RecipientRejectedError as exc:
            reason = exc.message[:REASON_MAX]
            self.ledger.mark_failed(key, reason=reason, now=self.clock.now())
            with self._lock:
                self.tally.failed += 1
                self.tally.failures.append(DeliveryFailure(recipient=key.recipient, reason=reason))
            log.warning("recipient_rejected", channel=key.channel.value, reason=reason)
            return
        self.ledger.mark_sent(key, message_id=message_id, now=self.clock.now())
        with self._lock:
            self.tally.sent += 1

    def _send_or_release(self, key: LedgerKey, topic: str, send: Callable[[str], str]) -> str:
        """Send; on any failure give the claim back so that a retry need not wait for the lease."""
        done = False
        try:
            message_id = self._send(key, topic, send)
            done = True
            return message_id
        finally:
            if not done:
                self.ledger.release(key, now=self.clock.now())

    def _claim(self, key: LedgerKey, topic: str) -> Claim:
        return self.ledger.claim(
            key, topic=topic, owner=self.owner, now=self.clock.now(), lease=self.lease
        )

    def _send(self, key: LedgerKey, topic: str, send: Callable[[str], str]) -> str:
        """Every attempt takes a slot from the bucket; throttling also slows the bucket down."""
        attempt = 0
        claimed = self.clock.now()
        while True:
            started = self.bucket.take()
            try:
                message_id = send(key.recipient)
            except UpstreamError as exc:
                if not exc.retryable:
                    raise
                attempt += 1
                throttled = bool(exc.context.get("throttled"))
                if throttled:
                    reduced = self.bucket.throttled(started)
                    with self._lock:
                        self.tally.throttled += 1
                        self.tally.rate_reduced += int(reduced)
                if attempt >= (self.max_throttled if throttled else self.max_transient):
                    raise
                if self.stop.is_set():
                    raise DeliveryStoppedError("stop requested during a retry") from exc
                if self._abandon.is_set():
                    raise _Abandoned("another recipient failed") from exc
                delay = self.backoff.delay(attempt)
                log.info("send_retry", throttled=throttled, attempt=attempt, delay=round(delay, 3))
                self.sleep(delay)
                if self.clock.now() - claimed > self.lease / 2:  # keep the lease alive
                    self._claim(key, topic)
                    claimed = self.clock.now()
            else:
                if self.bucket.succeeded(started):
                    with self._lock:
                        self.tally.rate_reduced += 1
                return message_id


def _collect(done: set[Future[bool]], errors: list[BaseException]) -> bool:
    """Gather finished recipients' errors; True when one was skipped because the run is ending."""
    skipped = False
    for future in done:
        error = future.exception()
        if error is not None:
            errors.append(error)
        elif not future.result():
            skipped = True
    return skipped

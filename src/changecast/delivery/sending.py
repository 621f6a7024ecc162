"""The per-recipient send loop: claim in the ledger, pace, send, record; resume after a crash.

A throttled or failing call backs off and retries the same recipient; a recipient SES rejects
is recorded as failed and the loop goes on; a stop request takes effect between recipients.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

import structlog

from changecast.delivery.ledger import Channel, Claim, ClaimOutcome, DeliveryKey, LedgerKey
from changecast.delivery.models import DeliveryFailure
from changecast.delivery.pacing import Backoff, TokenBucket
from changecast.delivery.ports import Ledger, RecipientRejectedError
from changecast.errors import UpstreamError
from changecast.ports import Clock

log = structlog.get_logger()

REASON_MAX = 500


class StopSignal(Protocol):
    """A ``threading.Event`` is one: set when the worker must stop after the recipient in flight."""

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

    def busy(self, until: datetime | None, now: datetime) -> None:
        moment = until or now
        if self.busy_until is None or moment > self.busy_until:
            self.busy_until = moment


@dataclass
class Sender:
    """Sends one delivery's messages, one recipient at a time."""

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
    tally: Tally = field(default_factory=Tally)

    def send_all(
        self,
        channel: Channel,
        topic: str,
        recipients: Sequence[str],
        send: Callable[[str], str],
    ) -> None:
        """Send to each recipient not yet sent; raises on a stop or an unrecoverable error."""
        for recipient in recipients:
            if self.stop.is_set():
                raise DeliveryStoppedError("stop requested")
            self._one(LedgerKey(self.delivery, channel, recipient), topic, send)

    def _one(self, key: LedgerKey, topic: str, send: Callable[[str], str]) -> None:
        claim = self._claim(key, topic)
        if claim.outcome is ClaimOutcome.SENT:
            self.tally.already_sent += 1
            return
        if claim.outcome is ClaimOutcome.BUSY:
            log.info("recipient_busy", channel=key.channel.value, lease_until=claim.lease_until)
            self.tally.busy(claim.lease_until, self.clock.now())
            return
        try:
            message_id = self._send_or_release(key, topic, send)
        except RecipientRejectedError as exc:
            reason = exc.message[:REASON_MAX]
            self.ledger.mark_failed(key, reason=reason, now=self.clock.now())
            self.tally.failed += 1
            self.tally.failures.append(DeliveryFailure(recipient=key.recipient, reason=reason))
            log.warning("recipient_rejected", channel=key.channel.value, reason=reason)
            return
        self.ledger.mark_sent(key, message_id=message_id, now=self.clock.now())
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
        attempt = 0
        claimed = self.clock.now()
        while True:
            self.bucket.acquire()
            try:
                return send(key.recipient)
            except UpstreamError as exc:
                if not exc.retryable:
                    raise
                attempt += 1
                throttled = bool(exc.context.get("throttled"))
                if throttled:
                    self.tally.throttled += 1
                if attempt >= (self.max_throttled if throttled else self.max_transient):
                    raise
                if self.stop.is_set():
                    raise DeliveryStoppedError("stop requested during a retry") from exc
                delay = self.backoff.delay(attempt)
                log.info("send_retry", throttled=throttled, attempt=attempt, delay=round(delay, 3))
                self.sleep(delay)
                if self.clock.now() - claimed > self.lease / 2:  # keep the lease alive
                    self._claim(key, topic)
                    claimed = self.clock.now()

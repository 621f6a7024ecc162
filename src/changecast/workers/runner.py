"""The per-customer queue loop: long-poll, heartbeat while delivering, settle, stop cleanly.

SIGTERM or SIGINT: the recipient in flight finishes, the unfinished message goes back to the
queue, no new message is taken, and the loop returns (the CLI exits 0).
"""

from __future__ import annotations

import signal
import threading
from dataclasses import dataclass, field
from types import FrameType
from typing import Protocol

import structlog

from changecast.aws.sqs import QueueMessage, SqsQueue
from changecast.errors import ChangecastError
from changecast.metrics.ports import Metrics, NullMetrics
from changecast.workers.processing import Attempt, Outcome, Verdict

log = structlog.get_logger()

RETRY_BASE_SECONDS = 5.0


class Processor(Protocol):
    def handle(self, body: str, *, stop: threading.Event, attempt: Attempt) -> Verdict: ...


class VisibilityQueue(Protocol):
    def set_visibility(self, receipt: str, seconds: float) -> None: ...


def dead_letter_attributes(reason: str, customer: str, receives: int) -> dict[str, str]:
    """The attributes of a message we dead-letter (``worker redrive --dry-run`` lists them)."""
    return {
        "changecast-reason": reason,
        "changecast-customer": customer,
        "changecast-receives": str(receives),
    }


class PollInterruptedError(Exception):
    """Raised by the signal handler to end a long poll at once."""


class Heartbeat:
    """While a message is being delivered, keep extending its visibility timeout."""

    def __init__(self, queue: VisibilityQueue, receipt: str, visibility: int) -> None:
        self.queue = queue
        self.receipt = receipt
        self.visibility = max(visibility, 1)
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="heartbeat", daemon=True)

    def _beat(self) -> None:
        interval = self.visibility / 3
        while not self._done.wait(interval):
            try:
                self.queue.set_visibility(self.receipt, self.visibility)
            except ChangecastError as exc:
                log.warning("heartbeat_failed", error=exc.message[:200])

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def finished(self) -> bool:
        """Whether the heartbeat thread has ended (it does on leaving the ``with`` block)."""
        return not self._thread.is_alive()

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._thread.join(timeout=5)


@dataclass
class QueueWorker:
    """Delivers one customer's queue until ``stop()``."""

    customer: str
    queue: SqsQueue
    processor: Processor
    dead_letters: SqsQueue | None = None
    wait_seconds: int = 20
    batch_size: int = 10
    visibility: int = 0
    max_receives: int = 5
    """The queue's maxReceiveCount; its redrive policy, when the worker can read it, wins."""
    retry_base: float = RETRY_BASE_SECONDS
    metrics: Metrics = field(default_factory=NullMetrics)
    """Flushed after each message (what its delivery recorded goes out at once)."""
    stopping: threading.Event = field(default_factory=threading.Event)
    busy: threading.Event = field(default_factory=threading.Event)
    _receiving: bool = False

    def run(self) -> None:
        """Poll until stopped; one failing poll is logged and retried after a pause."""
        log.info("worker_started", customer=self.customer, queue=self.queue.url)
        while not self.stopping.is_set():
            try:
                self.poll_once()
            except PollInterruptedError:
                break
            except Exception:  # the top-level loop: log it and keep polling
                log.exception("worker_poll_failed", customer=self.customer)
                self.stopping.wait(2.0)
        log.info("worker_stopped", customer=self.customer)

    def poll_once(self) -> int:
        """Receive one batch and settle each message; returns how many were received."""
        if not self.visibility:
            self.visibility = self.queue.visibility_timeout()
            self.max_receives = self.queue.max_receive_count() or self.max_receives
        self._receiving = True
        try:
            messages = self.queue.receive(
                wait_seconds=self.wait_seconds, max_messages=self.batch_size
            )
        finally:
            self._receiving = False
        for message in messages:
            if self.stopping.is_set():
                self._settle(message, Verdict(Outcome.STOPPED, "stopping"))
                continue
            self.busy.set()
            try:
                self._handle(message)
            finally:
                self.busy.clear()
        return len(messages)

    def _handle(self, message: QueueMessage) -> None:
        with structlog.contextvars.bound_contextvars(
            customer=self.customer, message_id=message.message_id
        ):
            with Heartbeat(self.queue, message.receipt, self.visibility):
                attempt = Attempt(receives=message.receive_count, max_receives=self.max_receives)
                try:
                    verdict = self.processor.handle(
                        message.body, stop=self.stopping, attempt=attempt
                    )
                except Exception as exc:  # a bug must not kill the loop: log it, retry
                    log.exception("message_failed")
                    verdict = Verdict(Outcome.RETRY, f"unexpected error: {exc}"[:500])
            try:
                self._settle(message, verdict)
            finally:
                self.metrics.flush()

    def _settle(self, message: QueueMessage, verdict: Verdict) -> None:
        """Delete, dead-letter, delay or release the message, as the verdict says."""
        log.info("message_settled", outcome=verdict.outcome.value, receives=message.receive_count)
        if verdict.outcome is Outcome.DONE:
            self.queue.delete(message.receipt)
        elif verdict.outcome is Outcome.STOPPED:
            self.queue.set_visibility(message.receipt, 0)
        elif verdict.outcome is Outcome.DEAD:
            if self.dead_letters is not None:
                self.dead_letters.send(
                    message.body,
                    attributes=dead_letter_attributes(
                        verdict.reason, self.customer, message.receive_count
                    ),
                )
            else:
                log.error(
                    "message_dropped", reason=verdict.reason[:300], note="no dead-letter queue"
                )
            self.queue.delete(message.receipt)
        else:
            delay = verdict.retry_after or self.retry_base * 2 ** (message.receive_count - 1)
            self.queue.set_visibility(message.receipt, min(delay, float(self.visibility)))

    def stop(self) -> None:
        """Finish the recipient in flight, then stop taking messages."""
        self.stopping.set()

    def install_signal_handlers(self) -> None:
        """SIGTERM/SIGINT stop the loop; an idle long poll is cut short (main thread only)."""

        def handler(signum: int, frame: FrameType | None) -> None:
            del frame
            log.info("worker_signal", signal=signal.Signals(signum).name)
            self.stop()
            if self._receiving:
                raise PollInterruptedError

        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, handler)

"""The workers ``local up`` runs beside the API: one thread per customer, sharing its Runtime.

And the embedded SES's events: the simulator publishing them, and the SES events worker.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import structlog

from changecast.workers.runner import QueueWorker

if TYPE_CHECKING:
    from changecast.bootstrap import Runtime
    from changecast.delivery.ports import SesAccount
    from changecast.local.ses_simulator import SesSimulator
    from changecast.local.system import Background, LocalOptions

log = structlog.get_logger()

LOCAL_WAIT_SECONDS = 20
STOP_GRACE_SECONDS = 30.0


class LocalSesEvents:
    """The embedded SES's events: the simulator's publishing thread and the events worker."""

    def __init__(self) -> None:
        self.simulator: SesSimulator | None = None
        self.worker: QueueWorker | None = None
        self._thread: threading.Thread | None = None

    def start(self, runtime: Runtime) -> None:
        from changecast.aws.sns import SnsTopics
        from changecast.local.ses_simulator import JOURNAL, SesSimulator
        from changecast.workers.ses_events import build_events_worker

        self.simulator = SesSimulator(
            publish=SnsTopics(runtime.aws.client("sns")).publish,
            journal=runtime.settings.data_dir / JOURNAL,
        )
        self.simulator.start()
        self.worker = build_events_worker(runtime, wait_seconds=LOCAL_WAIT_SECONDS)
        self._thread = threading.Thread(target=self.worker.run, name="ses-events", daemon=True)
        self._thread.start()

    def ses_for(self, runtime: Runtime, code: str) -> SesAccount | None:
        """Customer ``code``'s SES whose sends produce events (None before ``start``)."""
        from changecast.customers.models import SimulatedSesLimits
        from changecast.local.provision import events_topic_arn
        from changecast.local.ses_simulator import SimulatedSes
        from changecast.workers.wiring import AssumedSes

        if self.simulator is None:
            return None
        mapping = runtime.directory.get(code)
        return SimulatedSes(
            inner=AssumedSes(runtime.aws, mapping),
            simulator=self.simulator,
            topic_arn=events_topic_arn(runtime.config, code),
            account_id=mapping.account_id,
            region=mapping.region,
            rate=(runtime.config.local_ses or SimulatedSesLimits()).max_send_rate,
        )

    def stop(self) -> None:
        if self.worker is not None and self._thread is not None:
            self.worker.stop()
            self._thread.join(timeout=STOP_GRACE_SECONDS if self.worker.busy.is_set() else 0.5)
        if self.simulator is not None:
            self.simulator.stop()


class LocalWorker:
    """One customer's ``QueueWorker`` in a daemon thread."""

    def __init__(self, code: str, events: LocalSesEvents | None = None) -> None:
        self.code = code
        self.events = events
        self.worker: QueueWorker | None = None
        self._thread: threading.Thread | None = None

    def start(self, runtime: Runtime) -> None:
        from changecast.workers.wiring import build_worker

        ses = self.events.ses_for(runtime, self.code) if self.events else None
        self.worker = build_worker(runtime, self.code, wait_seconds=LOCAL_WAIT_SECONDS, ses=ses)
        self._thread = threading.Thread(
            target=self.worker.run, name=f"worker-{self.code}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop after the recipient in flight; an idle long poll is not waited for."""
        if self.worker is None or self._thread is None:
            return
        self.worker.stop()
        grace = STOP_GRACE_SECONDS if self.worker.busy.is_set() else 0.5
        self._thread.join(timeout=grace)


def local_workers(options: LocalOptions) -> list[Background]:
    """The SES events (started first, stopped last), then one worker per demo customer."""
    from changecast.local.demo import customer_codes

    events = LocalSesEvents()
    workers: list[Background] = [
        LocalWorker(code, events) for code, _, _ in customer_codes(options.customers)
    ]
    return [events, *workers]

"""The workers ``local up`` runs beside the API: one thread per customer, sharing its Runtime."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import structlog

from changecast.workers.runner import QueueWorker

if TYPE_CHECKING:
    from changecast.bootstrap import Runtime
    from changecast.local.system import Background, LocalOptions

log = structlog.get_logger()

LOCAL_WAIT_SECONDS = 20
STOP_GRACE_SECONDS = 30.0


class LocalWorker:
    """One customer's ``QueueWorker`` in a daemon thread."""

    def __init__(self, code: str) -> None:
        self.code = code
        self.worker: QueueWorker | None = None
        self._thread: threading.Thread | None = None

    def start(self, runtime: Runtime) -> None:
        from changecast.workers.wiring import build_worker

        self.worker = build_worker(
            runtime, self.code, index=runtime.index, wait_seconds=LOCAL_WAIT_SECONDS
        )
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
    """One worker per demo customer of ``local up``."""
    from changecast.local.demo import customer_codes

    return [LocalWorker(code) for code, _, _ in customer_codes(options.customers)]

"""The scheduler tick: find the reminders, window notices and nudges due now, write their triggers.

One tick is idempotent: the due items come from the index (``distribution.schedule``), each has
a fixed trigger key written with If-None-Match, and the worker's ledger sends each recipient
once. Any number of ticks, at once or in a row, send each notice once. EventBridge Scheduler
invokes ``handler`` every minute in AWS; ``local up`` runs ``LocalScheduler`` (a thread).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import structlog

from changecast.customers.models import AppConfig
from changecast.distribution.models import Trigger, TriggerOutcome
from changecast.distribution.schedule import (
    Leads,
    ScheduleSource,
    due_triggers,
    search_window,
)
from changecast.distribution.service import write_triggers
from changecast.errors import ChangecastError, UpstreamError
from changecast.ports import Clock, ObjectStore
from changecast.settings import SchedulerSettings

if TYPE_CHECKING:
    from changecast.bootstrap import Runtime

log = structlog.get_logger()


@dataclass(frozen=True)
class TickReport:
    """What one tick found due and what writing its triggers did."""

    due: int
    written: int
    already_present: int
    failed: int

    def as_dict(self) -> dict[str, int]:
        return {
            "due": self.due,
            "written": self.written,
            "alreadyPresent": self.already_present,
            "failed": self.failed,
        }


@dataclass
class Scheduler:
    """Finds what is due in the index and writes the triggers to the bucket."""

    source: ScheduleSource
    store: ObjectStore
    config: AppConfig
    clock: Clock
    settings: SchedulerSettings = field(default_factory=SchedulerSettings)
    concurrency: int = 8

    def leads(self) -> Mapping[str, Leads]:
        minutes = self.settings.reminder_minutes
        return {
            code: Leads.of(customer, reminder_minutes=minutes)
            for code, customer in self.config.customer_mappings.items()
        }

    def tick(self) -> TickReport:
        """One pass; a failed trigger write is left for the next tick (still due, still absent)."""
        now = self.clock.now()
        leads = self.leads()
        horizon = timedelta(hours=self.settings.catch_up_hours)
        changes = self.source.scheduled(search_window(now, leads.values(), horizon))
        written = self.source.written({change.change_id for change in changes})
        due = due_triggers(changes, leads, now=now, horizon=horizon, written=written)
        results = write_triggers(
            store=self.store, triggers=due, clock=self.clock, concurrency=self.concurrency
        )
        outcomes = [result.outcome for result in results]
        self._remember(
            [
                t
                for t, r in zip(due, results, strict=True)
                if r.outcome is not TriggerOutcome.FAILED
            ],
            now,
        )
        report = TickReport(
            due=len(due),
            written=outcomes.count(TriggerOutcome.WRITTEN),
            already_present=outcomes.count(TriggerOutcome.ALREADY_PRESENT),
            failed=outcomes.count(TriggerOutcome.FAILED),
        )
        if report.written or report.failed:
            log.info("scheduler_tick", **report.as_dict())
        return report

    def _remember(self, triggers: list[Trigger], now: datetime) -> None:
        """Record what is written; an index failure only costs repeated (refused) PUTs."""
        try:
            self.source.record(triggers, at=now)
        except ChangecastError as exc:
            log.warning("scheduler_record_failed", error=exc.message[:300])


def build_scheduler(runtime: Runtime) -> Scheduler:
    """The scheduler on a Runtime's index, bucket, config.json and clock."""
    from changecast.index.schedule import SqlScheduleIndex

    return Scheduler(
        source=SqlScheduleIndex(runtime.index.engine),
        store=runtime.store,
        config=runtime.config,
        clock=runtime.clock,
        settings=runtime.settings.scheduler,
        concurrency=runtime.settings.trigger_concurrency,
    )


class LocalScheduler:
    """``local up``'s scheduler: a daemon thread ticking every ``scheduler.interval_seconds``."""

    def __init__(self) -> None:
        self.scheduler: Scheduler | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, runtime: Runtime) -> None:
        self.scheduler = build_scheduler(runtime)
        interval = runtime.settings.scheduler.interval_seconds
        self._thread = threading.Thread(
            target=self._run, args=(interval,), name="scheduler", daemon=True
        )
        self._thread.start()

    def _run(self, interval: float) -> None:
        while not self._stop.is_set():
            try:
                if self.scheduler is not None:
                    self.scheduler.tick()
            except Exception as exc:  # the loop must survive; the next tick retries
                log.warning("scheduler_tick_failed", error=str(exc)[:300])
            self._stop.wait(interval)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)


@functools.cache
def current_scheduler() -> Scheduler:
    """The cold start: settings from the environment (a worker's: index URL and config.json)."""
    from changecast.bootstrap import build_runtime
    from changecast.logging import configure_logging
    from changecast.settings import load_settings

    configure_logging(json_output=True)
    return build_scheduler(build_runtime(load_settings(), process="worker"))


def handler(event: Any, context: Any) -> dict[str, int]:
    """The Lambda handler (``changecast.workers.scheduler.handler``), for EventBridge Scheduler.

    A tick whose trigger writes failed raises (the invocation counts as an error, for alarms);
    the next tick writes what is still missing.
    """
    del event, context
    scheduler = current_scheduler()
    try:
        report = scheduler.tick()
    except ChangecastError as exc:
        log.error("scheduler_tick_failed", error=exc.message[:300])
        raise
    if report.failed:
        raise UpstreamError(
            f"{report.failed} of {report.due} due triggers could not be written", retryable=True
        )
    return report.as_dict()

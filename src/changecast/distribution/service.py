"""Writes planned triggers several at a time with If-None-Match: a retry writes only the missing."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import structlog

from changecast.distribution.models import CustomerResult, Trigger, TriggerOutcome
from changecast.errors import ChangecastError, ConflictError
from changecast.ports import Clock, ObjectStore

log = structlog.get_logger()

ResultCallback = Callable[[CustomerResult], None]


def _write_one(store: ObjectStore, trigger: Trigger, clock: Clock) -> CustomerResult:
    key = trigger.key
    try:
        store.put(key, trigger.to_bytes(), if_none_match=True)
    except ConflictError:
        outcome, detail = TriggerOutcome.ALREADY_PRESENT, "trigger was already written"
    except ChangecastError as exc:
        outcome, detail = TriggerOutcome.FAILED, exc.message
        log.warning("trigger_write_failed", key=key, customer=trigger.customer_code, error=detail)
    else:
        outcome, detail = TriggerOutcome.WRITTEN, ""
    return CustomerResult(
        customer_code=trigger.customer_code,
        event=trigger.event,
        key=key,
        outcome=outcome,
        detail=detail,
        at=clock.now(),
    )


def write_triggers(
    *,
    store: ObjectStore,
    triggers: Sequence[Trigger],
    clock: Clock,
    concurrency: int = 8,
    on_result: ResultCallback | None = None,
) -> list[CustomerResult]:
    """Write every trigger; report each customer's result (also to ``on_result`` as it lands).

    Triggers already present count as done, so calling this again after a partial failure writes
    only the missing ones. Results come back in the order of ``triggers``.
    """
    if not triggers:
        return []
    workers = max(1, min(concurrency, len(triggers)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="trigger") as pool:
        futures = [pool.submit(_write_one, store, trigger, clock) for trigger in triggers]
        results = []
        for future in futures:
            result = future.result()
            if on_result is not None:
                on_result(result)
            results.append(result)
    return results

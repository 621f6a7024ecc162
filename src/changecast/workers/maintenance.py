"""AWS Lambda entry point for index upkeep: ``changecast index optimize`` on a schedule.

EventBridge Scheduler invokes ``changecast.workers.maintenance.handler`` daily (Terraform hub
module, ``maintenance.tf``); see docs/runbooks/index-upkeep.md for what the upkeep does.
"""

from __future__ import annotations

import time
from typing import Any

import structlog

from changecast.bootstrap import Runtime, build_runtime
from changecast.logging import configure_logging
from changecast.settings import load_settings

log = structlog.get_logger()


def optimize_index(runtime: Runtime) -> dict[str, Any]:
    """Run the index upkeep on ``runtime``'s index; returns where and how long it took."""
    index = runtime.index
    where = index.engine.url.render_as_string(hide_password=True)
    started = time.perf_counter()
    index.optimize()
    seconds = round(time.perf_counter() - started, 1)
    log.info("index_optimized", database=where, seconds=seconds)
    return {"database": where, "seconds": seconds}


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda handler: settings (and secrets) from the environment, then the upkeep."""
    del event, context  # the schedule carries nothing
    configure_logging(json_output=True)
    runtime = build_runtime(load_settings(), process="worker")
    try:
        return optimize_index(runtime)
    finally:
        runtime.index.close()

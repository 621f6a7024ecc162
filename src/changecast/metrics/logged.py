"""Metrics as structlog events (local mode): one ``metric`` event per metric value at each flush.

The same aggregation as EMF: a counter's line carries its sum since the last flush; a timing has
one line per value. The ``event`` dimension is logged as ``delivery_event`` (structlog's ``event``
is the event name), as the delivery's other log lines do.
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog

from changecast.metrics.buffer import BufferedMetrics, MetricSet

log = structlog.get_logger()

_RESERVED = frozenset({"event", "name", "value", "unit", "log_level", "timestamp"})


def log_key(dimension: str) -> str:
    """The log key of a dimension: its own name unless the metric line already uses that key."""
    if dimension == "event":
        return "delivery_event"
    return f"dimension_{dimension}" if dimension in _RESERVED else dimension


class LogWriter:
    """Writes ``metric name=… value=… unit=… <dimensions>`` events."""

    def write(self, sets: Sequence[MetricSet]) -> None:
        for metric_set in sets:
            dimensions = {log_key(k): v for k, v in metric_set.dimensions.items()}
            for name, measured in metric_set.metrics.items():
                for value in measured.values:
                    log.info(
                        "metric",
                        name=name,
                        value=value,
                        unit=measured.unit.value,
                        **dimensions,
                    )


def log_metrics() -> BufferedMetrics:
    """The Metrics port writing to the log."""
    return BufferedMetrics(LogWriter())

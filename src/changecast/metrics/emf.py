"""CloudWatch metrics through powertools' Embedded Metric Format: JSON lines on stdout.

EMF gives every metric of a blob the same dimensions, so a flush writes one line per dimension
set (e.g. one per customer and event), plus one more per 99 values of a timing that has more
(powertools publishes a blob on its own at 100 values). Lambda sends stdout to CloudWatch Logs,
which extracts the metrics; outside Lambda, AWS documents the CloudWatch agent for that.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TextIO

import structlog
from aws_lambda_powertools.metrics import (
    EphemeralMetrics,
    MetricResolutionError,
    MetricUnitError,
    MetricValueError,
    SchemaValidationError,
)
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.constants import MAX_METRICS
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.exceptions import MetricNameError

from changecast.metrics.buffer import BufferedMetrics, Measured, MetricSet

log = structlog.get_logger()

DEFAULT_NAMESPACE = "changecast"
VALUES_PER_BLOB = MAX_METRICS - 1
_REFUSED = (
    MetricNameError,
    MetricResolutionError,
    MetricUnitError,
    MetricValueError,
    SchemaValidationError,
)


def _chunks(metrics: Mapping[str, Measured]) -> Iterator[dict[str, Measured]]:
    """The metrics in blobs of at most ``VALUES_PER_BLOB`` values per metric."""
    longest = max(len(m.values) for m in metrics.values())
    for start in range(0, longest, VALUES_PER_BLOB):
        part = {
            name: Measured(m.unit, m.values[start : start + VALUES_PER_BLOB])
            for name, m in metrics.items()
        }
        yield {name: m for name, m in part.items() if m.values}


class EmfWriter:
    """Writes each metric set as an EMF blob, one JSON line each, to ``stream`` (stdout)."""

    def __init__(self, namespace: str = DEFAULT_NAMESPACE, stream: TextIO | None = None) -> None:
        self.namespace = namespace
        self.stream = stream

    def blobs(self, metric_set: MetricSet) -> Iterator[dict[str, Any]]:
        """The EMF documents of one metric set."""
        for chunk in _chunks(metric_set.metrics):
            blob = EphemeralMetrics(namespace=self.namespace)
            for name, value in metric_set.dimensions.items():
                blob.add_dimension(name=name, value=value)
            for name, measured in chunk.items():
                for number in measured.values:
                    blob.add_metric(name=name, unit=measured.unit.value, value=number)
            yield dict(blob.serialize_metric_set())

    def write(self, sets: Sequence[MetricSet]) -> None:
        stream = self.stream or sys.stdout
        for metric_set in sets:
            try:
                lines = [json.dumps(b, separators=(",", ":")) for b in self.blobs(metric_set)]
                stream.write("".join(f"{line}\n" for line in lines))
                stream.flush()
            except (*_REFUSED, OSError) as exc:  # metrics never fail the work they measure
                log.warning(
                    "metrics_not_written", dimensions=dict(metric_set.dimensions), error=str(exc)
                )


def emf_metrics(
    namespace: str = DEFAULT_NAMESPACE, stream: TextIO | None = None
) -> BufferedMetrics:
    """The Metrics port writing EMF to ``stream`` (stdout by default)."""
    return BufferedMetrics(EmfWriter(namespace, stream))

"""An in-memory Metrics port: the same aggregation as the real adapters, flushes kept in a list."""

from __future__ import annotations

from collections.abc import Sequence

from changecast.metrics.buffer import BufferedMetrics, MetricSet


class MemoryWriter:
    """Keeps each flush (a list of metric sets)."""

    def __init__(self) -> None:
        self.flushes: list[list[MetricSet]] = []

    def write(self, sets: Sequence[MetricSet]) -> None:
        self.flushes.append(list(sets))


class MemoryMetrics(BufferedMetrics):
    """``flushes`` holds what each flush wrote; ``values`` and ``total`` read across them."""

    def __init__(self) -> None:
        self.memory = MemoryWriter()
        super().__init__(self.memory)

    @property
    def flushes(self) -> list[list[MetricSet]]:
        return self.memory.flushes

    def values(self, name: str, **dimensions: str) -> list[float]:
        """Every value of ``name`` flushed with (at least) these dimensions."""
        return [
            value
            for flush in self.flushes
            for metric_set in flush
            if name in metric_set.metrics
            and all(metric_set.dimensions.get(k) == v for k, v in dimensions.items())
            for value in metric_set.metrics[name].values
        ]

    def total(self, name: str, **dimensions: str) -> float:
        return sum(self.values(name, **dimensions))

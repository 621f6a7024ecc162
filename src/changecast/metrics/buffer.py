"""Aggregation between flushes: counters are summed and timings kept, per dimension set.

``BufferedMetrics`` implements the port on top of a ``MetricWriter`` (EMF, log lines, a test's
list), so every adapter aggregates the same way and differs only in how a flush is written.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from changecast.metrics.ports import Unit

EMPTY_DIMENSION = "none"
"""Stands for an empty dimension value, which CloudWatch would refuse."""

DimensionKey = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Measured:
    """One metric of a flush: its unit and values (a counter has one value, its sum)."""

    unit: Unit
    values: tuple[float, ...]


@dataclass(frozen=True)
class MetricSet:
    """Everything recorded with one dimension set since the last flush."""

    dimensions: Mapping[str, str]
    metrics: Mapping[str, Measured]


class MetricWriter(Protocol):
    """Writes one flush: a list of metric sets, each with its own dimensions."""

    def write(self, sets: Sequence[MetricSet]) -> None: ...


@dataclass
class _Series:
    unit: Unit
    counter: bool
    values: list[float] = field(default_factory=list)


def dimension_key(dimensions: Mapping[str, str]) -> DimensionKey:
    return tuple(sorted((name, value or EMPTY_DIMENSION) for name, value in dimensions.items()))


class MetricBuffer:
    """What was recorded since the last ``drain``, in recording order; safe across threads."""

    def __init__(self) -> None:
        self._sets: dict[DimensionKey, dict[str, _Series]] = {}
        self._lock = threading.Lock()

    def add(
        self, name: str, value: float, *, unit: Unit, counter: bool, dimensions: Mapping[str, str]
    ) -> None:
        """Sum ``value`` into a counter, or append it to a timing; a name keeps its first unit."""
        with self._lock:
            series = self._sets.setdefault(dimension_key(dimensions), {})
            current = series.setdefault(name, _Series(unit=unit, counter=counter))
            if current.unit is not unit or current.counter is not counter:
                raise ValueError(f"metric {name} was recorded as {current.unit.value} before")
            if counter and current.values:
                current.values[0] += value
            else:
                current.values.append(float(value))

    def drain(self) -> list[MetricSet]:
        """Everything recorded so far, one set per dimension set; the buffer is left empty."""
        with self._lock:
            sets, self._sets = self._sets, {}
        return [
            MetricSet(
                dimensions=dict(key),
                metrics={n: Measured(s.unit, tuple(s.values)) for n, s in series.items()},
            )
            for key, series in sets.items()
        ]


class BufferedMetrics:
    """The Metrics port: aggregates in memory, and hands each flush to ``writer``."""

    def __init__(self, writer: MetricWriter) -> None:
        self.writer = writer
        self._buffer = MetricBuffer()

    def count(self, name: str, value: float = 1, **dimensions: str) -> None:
        self._buffer.add(name, value, unit=Unit.COUNT, counter=True, dimensions=dimensions)

    def timing(
        self, name: str, seconds: float, *, unit: Unit = Unit.SECONDS, **dimensions: str
    ) -> None:
        if unit is Unit.COUNT:
            raise ValueError("a timing is reported in seconds or milliseconds")
        value = seconds * 1000 if unit is Unit.MILLISECONDS else seconds
        self._buffer.add(name, value, unit=unit, counter=False, dimensions=dimensions)

    def flush(self) -> None:
        sets = self._buffer.drain()
        if sets:
            self.writer.write(sets)

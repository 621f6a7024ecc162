"""The Metrics port: counts and timings with dimensions, buffered until ``flush``.

Domain code records through this port only; which adapter runs (EMF in AWS, log lines locally,
a fake in tests) is decided once, in ``changecast.bootstrap``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol


class Unit(StrEnum):
    """The CloudWatch units our metrics use."""

    COUNT = "Count"
    SECONDS = "Seconds"
    MILLISECONDS = "Milliseconds"


class Metrics(Protocol):
    """Records metrics in memory; ``flush`` writes what was recorded since the last flush."""

    def count(self, name: str, value: float = 1, **dimensions: str) -> None:
        """Add ``value`` to the counter ``name`` (summed per dimension set until the flush)."""
        ...

    def timing(
        self, name: str, seconds: float, *, unit: Unit = Unit.SECONDS, **dimensions: str
    ) -> None:
        """Record one duration, given in seconds, reported in ``unit`` (seconds or ms)."""
        ...

    def flush(self) -> None:
        """Write what was recorded, then forget it; flushing nothing writes nothing."""
        ...


class NullMetrics:
    """Records nothing: the default wherever no adapter was wired in."""

    def count(self, name: str, value: float = 1, **dimensions: str) -> None:
        del name, value, dimensions

    def timing(
        self, name: str, seconds: float, *, unit: Unit = Unit.SECONDS, **dimensions: str
    ) -> None:
        del name, seconds, unit, dimensions

    def flush(self) -> None:
        return None

"""The Metrics contract: the in-memory fake, EMF (parsed back) and the log lines agree."""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pytest
from structlog.testing import capture_logs

from changecast.metrics import names
from changecast.metrics.buffer import Measured, MetricSet
from changecast.metrics.emf import emf_metrics
from changecast.metrics.logged import log_metrics
from changecast.metrics.ports import Metrics, Unit
from tests.fakes.metrics import MemoryMetrics
from tests.metrics_support import emf_sets

Flushes = list[list[MetricSet]]


def scenario(metrics: Metrics, flushed: Callable[[], None]) -> None:
    """Two flushes of what a worker and a portal record; ``flushed`` runs after each flush."""
    for customer, event, sent in (("acme", "approved", 3), ("globex", "approved", 1)):
        metrics.count(names.EMAILS_SENT, sent, customer=customer, event=event)
        metrics.count(names.EMAILS_FAILED, 0, customer=customer, event=event)
        metrics.timing(names.DELIVERY_DURATION, 0.25, customer=customer, event=event)
    metrics.count(names.EMAILS_SENT, 2, customer="acme", event="approved")
    metrics.timing(names.DELIVERY_DURATION, 1.5, customer="acme", event="approved")
    metrics.count(names.TRIGGERS_DEAD_LETTERED, customer="acme")
    metrics.flush()
    flushed()
    metrics.timing(
        names.PORTAL_REQUEST_LATENCY,
        0.012,
        unit=Unit.MILLISECONDS,
        route="/api/changes/{change_id}",
        method="GET",
    )
    metrics.count(names.PORTAL_REQUEST_ERRORS, 1, route="/api/changes/{change_id}", method="GET")
    metrics.flush()
    flushed()


def via_memory() -> Flushes:
    metrics = MemoryMetrics()
    scenario(metrics, lambda: None)
    return metrics.flushes


def via_emf() -> Flushes:
    stream = io.StringIO()
    flushes: Flushes = []

    def flushed() -> None:
        flushes.append(emf_sets(stream.getvalue()))
        stream.seek(0)
        stream.truncate()

    scenario(emf_metrics("changecast-contract", stream), flushed)
    return flushes


def sets_from_log(entries: Sequence[Mapping[str, Any]]) -> list[MetricSet]:
    """Metric sets from ``metric`` log events, in the order their dimension sets first appear."""
    grouped: dict[tuple[tuple[str, str], ...], dict[str, Measured]] = {}
    for entry in entries:
        assert entry["event"] == "metric"
        dimensions = {
            ("event" if k == "delivery_event" else k): v
            for k, v in entry.items()
            if k not in {"event", "log_level", "name", "value", "unit"}
        }
        metrics = grouped.setdefault(tuple(sorted(dimensions.items())), {})
        before = metrics.get(entry["name"], Measured(Unit(entry["unit"]), ()))
        metrics[entry["name"]] = Measured(before.unit, (*before.values, entry["value"]))
    return [MetricSet(dimensions=dict(key), metrics=m) for key, m in grouped.items()]


def via_log() -> Flushes:
    flushes: Flushes = []
    with capture_logs() as logs:

        def flushed() -> None:
            flushes.append(sets_from_log(logs))
            logs.clear()

        scenario(log_metrics(), flushed)
    return flushes


EXPECTED: Flushes = [
    [
        MetricSet(
            dimensions={"customer": "acme", "event": "approved"},
            metrics={
                names.EMAILS_SENT: Measured(Unit.COUNT, (5.0,)),
                names.EMAILS_FAILED: Measured(Unit.COUNT, (0.0,)),
                names.DELIVERY_DURATION: Measured(Unit.SECONDS, (0.25, 1.5)),
            },
        ),
        MetricSet(
            dimensions={"customer": "globex", "event": "approved"},
            metrics={
                names.EMAILS_SENT: Measured(Unit.COUNT, (1.0,)),
                names.EMAILS_FAILED: Measured(Unit.COUNT, (0.0,)),
                names.DELIVERY_DURATION: Measured(Unit.SECONDS, (0.25,)),
            },
        ),
        MetricSet(
            dimensions={"customer": "acme"},
            metrics={names.TRIGGERS_DEAD_LETTERED: Measured(Unit.COUNT, (1.0,))},
        ),
    ],
    [
        MetricSet(
            dimensions={"method": "GET", "route": "/api/changes/{change_id}"},
            metrics={
                names.PORTAL_REQUEST_LATENCY: Measured(Unit.MILLISECONDS, (12.0,)),
                names.PORTAL_REQUEST_ERRORS: Measured(Unit.COUNT, (1.0,)),
            },
        ),
    ],
]


@pytest.mark.parametrize("adapter", [via_memory, via_emf, via_log], ids=["memory", "emf", "log"])
def test_every_adapter_writes_what_was_recorded(adapter: Callable[[], Flushes]) -> None:
    assert adapter() == EXPECTED

"""The metrics adapters: aggregation per dimension set, EMF lines, log lines, the composition."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from changecast.bootstrap import Runtime
from changecast.metrics.buffer import BufferedMetrics, Measured, MetricSet
from changecast.metrics.emf import EmfWriter, emf_metrics
from changecast.metrics.logged import LogWriter, log_metrics
from changecast.metrics.ports import NullMetrics, Unit
from changecast.settings import Settings
from tests.fakes.metrics import MemoryMetrics
from tests.metrics_support import emf_documents, emf_sets


def test_counters_are_summed_and_timings_kept_per_dimension_set() -> None:
    metrics = MemoryMetrics()
    metrics.count("EmailsSent", 2, customer="acme", event="approved")
    metrics.count("EmailsSent", 3, event="approved", customer="acme")
    metrics.count("EmailsSent", customer="globex", event="approved")
    metrics.timing("DeliveryDuration", 1.5, customer="acme", event="approved")
    metrics.timing("DeliveryDuration", 0.5, customer="acme", event="approved")
    metrics.timing("PortalRequestLatency", 0.25, unit=Unit.MILLISECONDS, route="/x", method="GET")
    metrics.flush()
    assert metrics.flushes == [
        [
            MetricSet(
                dimensions={"customer": "acme", "event": "approved"},
                metrics={
                    "EmailsSent": Measured(Unit.COUNT, (5.0,)),
                    "DeliveryDuration": Measured(Unit.SECONDS, (1.5, 0.5)),
                },
            ),
            MetricSet(
                dimensions={"customer": "globex", "event": "approved"},
                metrics={"EmailsSent": Measured(Unit.COUNT, (1.0,))},
            ),
            MetricSet(
                dimensions={"method": "GET", "route": "/x"},
                metrics={"PortalRequestLatency": Measured(Unit.MILLISECONDS, (250.0,))},
            ),
        ]
    ]


def test_a_flush_forgets_what_it_wrote_and_an_empty_flush_writes_nothing() -> None:
    metrics = MemoryMetrics()
    metrics.flush()
    metrics.count("EmailsSent", customer="acme", event="approved")
    metrics.flush()
    metrics.flush()
    assert len(metrics.flushes) == 1
    assert metrics.total("EmailsSent", customer="acme") == 1


def test_a_metric_keeps_its_unit() -> None:
    metrics = MemoryMetrics()
    metrics.timing("Latency", 1.0, route="/x")
    with pytest.raises(ValueError, match="Latency"):
        metrics.timing("Latency", 1.0, unit=Unit.MILLISECONDS, route="/x")
    with pytest.raises(ValueError, match="seconds or milliseconds"):
        metrics.timing("Other", 1.0, unit=Unit.COUNT, route="/x")


def test_an_empty_dimension_value_is_named_none() -> None:
    stream = io.StringIO()
    metrics = emf_metrics(stream=stream)
    metrics.count("TriggersDeadLettered", customer="")
    metrics.flush()
    assert emf_sets(stream.getvalue())[0].dimensions == {"customer": "none"}


def test_emf_writes_one_json_line_per_dimension_set_per_flush() -> None:
    stream = io.StringIO()
    metrics = emf_metrics("changecast-test", stream)
    metrics.count("EmailsSent", 3, customer="acme", event="approved")
    metrics.count("EmailsFailed", 0, customer="acme", event="approved")
    metrics.count("TriggersDeadLettered", customer="acme")
    metrics.flush()
    documents = emf_documents(stream.getvalue())
    assert len(documents) == 2
    first = documents[0]
    assert first["_aws"]["CloudWatchMetrics"] == [
        {
            "Namespace": "changecast-test",
            "Dimensions": [["customer", "event"]],
            "Metrics": [
                {"Name": "EmailsSent", "Unit": "Count"},
                {"Name": "EmailsFailed", "Unit": "Count"},
            ],
        }
    ]
    assert (first["customer"], first["event"], first["EmailsSent"]) == ("acme", "approved", [3.0])
    assert documents[1]["TriggersDeadLettered"] == [1.0]
    metrics.flush()
    assert len(stream.getvalue().splitlines()) == 2


def test_emf_splits_a_timing_with_more_than_99_values_over_several_lines() -> None:
    stream = io.StringIO()
    metrics = emf_metrics(stream=stream)
    for number in range(150):
        metrics.timing("PortalRequestLatency", number / 1000, unit=Unit.MILLISECONDS, route="/")
    metrics.count("PortalRequestErrors", 2, route="/")
    metrics.flush()
    sets = emf_sets(stream.getvalue())
    assert [len(s.metrics["PortalRequestLatency"].values) for s in sets] == [99, 51]
    assert [s.metrics.get("PortalRequestErrors") for s in sets] == [
        Measured(Unit.COUNT, (2.0,)),
        None,
    ]


def test_emf_that_powertools_refuses_is_logged_not_raised() -> None:
    stream = io.StringIO()
    metrics = BufferedMetrics(EmfWriter(stream=stream))
    metrics.count("E" * 300, customer="acme")  # CloudWatch names are at most 255 characters
    with capture_logs() as logs:
        metrics.flush()
    assert stream.getvalue() == ""
    assert [entry["event"] for entry in logs] == ["metrics_not_written"]


def test_the_log_adapter_writes_one_metric_event_per_value() -> None:
    metrics = log_metrics()
    assert isinstance(metrics.writer, LogWriter)
    metrics.count("EmailsSent", 2, customer="acme", event="submitted")
    metrics.timing("DeliveryDuration", 0.5, customer="acme", event="submitted")
    with capture_logs() as logs:
        metrics.flush()
    where = {"customer": "acme", "delivery_event": "submitted"}
    assert [{k: v for k, v in e.items() if k != "event"} for e in logs] == [
        {"log_level": "info", "name": "EmailsSent", "value": 2.0, "unit": "Count"} | where,
        {"log_level": "info", "name": "DeliveryDuration", "value": 0.5, "unit": "Seconds"} | where,
    ]
    assert {e["event"] for e in logs} == {"metric"}


def test_null_metrics_record_nothing() -> None:
    metrics = NullMetrics()
    metrics.count("EmailsSent", customer="acme")
    metrics.timing("DeliveryDuration", 1.0, customer="acme")
    metrics.flush()


@pytest.mark.parametrize(("mode", "writer"), [("aws", EmfWriter), ("local", LogWriter)])
def test_the_runtime_writes_emf_in_aws_mode_and_log_lines_in_local_mode(
    mode: str, writer: type, tmp_path: Path
) -> None:
    runtime = Runtime(settings=Settings(mode=mode, data_dir=tmp_path))
    metrics = runtime.metrics
    assert isinstance(metrics, BufferedMetrics)
    assert isinstance(metrics.writer, writer)
    assert runtime.metrics is metrics


def test_the_namespace_comes_from_settings_or_the_powertools_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert Settings(data_dir=tmp_path).metrics.namespace == "changecast"
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "from-powertools")
    assert Settings(data_dir=tmp_path).metrics.namespace == "from-powertools"
    monkeypatch.setenv("CHANGECAST_METRICS__NAMESPACE", "from-changecast")
    settings = Settings(mode="aws", data_dir=tmp_path)
    assert settings.metrics.namespace == "from-changecast"
    stream = io.StringIO()
    metrics = Runtime(settings=settings).metrics
    assert isinstance(metrics, BufferedMetrics)
    assert isinstance(metrics.writer, EmfWriter)
    metrics.writer.stream = stream
    metrics.count("EmailsSent", customer="acme")
    metrics.flush()
    line = json.loads(stream.getvalue())
    assert line["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "from-changecast"

"""Reading EMF output back: each JSON line checked against the EMF shape, then as metric sets."""

from __future__ import annotations

import json
from typing import Any

from changecast.metrics.buffer import Measured, MetricSet
from changecast.metrics.ports import Unit


def emf_documents(text: str) -> list[dict[str, Any]]:
    """One document per line; every line must be an EMF blob with exactly one directive."""
    documents = [json.loads(line) for line in text.splitlines()]
    for document in documents:
        aws = document["_aws"]
        assert isinstance(aws["Timestamp"], int)
        (directive,) = aws["CloudWatchMetrics"]
        assert directive["Namespace"]
        (dimension_names,) = directive["Dimensions"]
        for name in dimension_names:
            assert isinstance(document[name], str)
        for definition in directive["Metrics"]:
            assert definition["Name"] in document
    return documents


def emf_set(document: dict[str, Any]) -> MetricSet:
    """The metric set an EMF document carries."""
    (directive,) = document["_aws"]["CloudWatchMetrics"]
    (dimension_names,) = directive["Dimensions"]
    metrics = {}
    for definition in directive["Metrics"]:
        raw = document[definition["Name"]]
        values = tuple(float(v) for v in (raw if isinstance(raw, list) else [raw]))
        metrics[definition["Name"]] = Measured(Unit(definition["Unit"]), values)
    return MetricSet(dimensions={n: document[n] for n in dimension_names}, metrics=metrics)


def emf_sets(text: str) -> list[MetricSet]:
    return [emf_set(document) for document in emf_documents(text)]


def metric_value(sets: list[MetricSet], name: str, **dimensions: str) -> float:
    """The sum of ``name`` over the sets with these dimensions (exactly)."""
    return sum(
        value
        for metric_set in sets
        if dict(metric_set.dimensions) == dimensions and name in metric_set.metrics
        for value in metric_set.metrics[name].values
    )

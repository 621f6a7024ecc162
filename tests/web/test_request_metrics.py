"""Portal metrics: latency per route template and method, 5xx answers counted, flushes paced."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi import FastAPI, HTTPException
from fastapi.testclient import TestClient

from changecast.bootstrap import Runtime
from changecast.metrics import names
from changecast.metrics.ports import Unit
from changecast.web.app import create_app
from changecast.web.request_metrics import UNMATCHED, RequestMetricsMiddleware
from tests.fakes.metrics import MemoryMetrics

ROUTE = {"route": "/api/changes/{change_id}", "method": "GET"}


@pytest.fixture
def portal(moto_runtime: Runtime) -> Iterator[tuple[TestClient, MemoryMetrics]]:
    metrics = MemoryMetrics()
    moto_runtime.metrics = metrics
    with TestClient(create_app(moto_runtime)) as client:
        response = client.post(
            "/auth/dev-login", data={"email": "manager@ccoe.example.com", "role": "ChangeManager"}
        )
        assert response.status_code == 200
        yield client, metrics


def test_a_request_records_its_latency_under_the_route_template(
    portal: tuple[TestClient, MemoryMetrics],
) -> None:
    client, metrics = portal
    for _ in range(2):
        assert client.get(f"/api/changes/{uuid.uuid4()}").status_code == 404
    assert client.get("/no/such/page").status_code == 404
    assert metrics.flushes == []  # a server aggregates: nothing is written per request
    metrics.flush()
    (flush,) = metrics.flushes
    (change,) = [s for s in flush if dict(s.dimensions) == ROUTE]
    latency = change.metrics[names.PORTAL_REQUEST_LATENCY]
    assert latency.unit is Unit.MILLISECONDS
    assert len(latency.values) == 2
    assert all(value > 0 for value in latency.values)
    assert change.metrics[names.PORTAL_REQUEST_ERRORS].values == (0.0,)
    assert metrics.values(names.PORTAL_REQUEST_LATENCY, route=UNMATCHED, method="GET")
    routes = {s.dimensions["route"] for s in flush}
    assert routes == {"/auth/dev-login", "/api/changes/{change_id}", UNMATCHED}  # no raw paths


def test_the_portal_writes_its_metrics_when_it_shuts_down(moto_runtime: Runtime) -> None:
    metrics = MemoryMetrics()
    moto_runtime.metrics = metrics
    with TestClient(create_app(moto_runtime)) as client:
        assert client.get("/api/health").status_code == 200
        assert metrics.flushes == []
    assert metrics.values(names.PORTAL_REQUEST_LATENCY, route="/api/health", method="GET")


def failing_app(metrics: MemoryMetrics, clock: list[float]) -> FastAPI:
    app = FastAPI()

    @app.get("/items/{item_id}")
    def item(item_id: str) -> dict[str, str]:
        if item_id == "down":
            raise HTTPException(status_code=503, detail="down")
        if item_id == "bug":
            raise RuntimeError("a bug")
        return {"id": item_id}

    app.add_middleware(
        RequestMetricsMiddleware, metrics=metrics, flush_seconds=60, monotonic=lambda: clock[0]
    )
    return app


def test_5xx_answers_and_unhandled_errors_count_as_errors_and_flushes_are_paced() -> None:
    metrics, clock = MemoryMetrics(), [0.0]
    client = TestClient(failing_app(metrics, clock), raise_server_exceptions=False)
    assert client.get("/items/1").status_code == 200
    assert client.get("/items/down").status_code == 503
    assert client.get("/items/bug").status_code == 500
    assert client.post("/items/1").status_code == 405
    assert metrics.flushes == []
    clock[0] = 60.0
    assert client.get("/items/2").status_code == 200
    assert len(metrics.flushes) == 1
    where = {"route": "/items/{item_id}", "method": "GET"}
    assert metrics.total(names.PORTAL_REQUEST_ERRORS, **where) == 2
    assert len(metrics.values(names.PORTAL_REQUEST_LATENCY, **where)) == 4
    assert metrics.total(names.PORTAL_REQUEST_ERRORS, route="/items/{item_id}", method="POST") == 0


def test_in_lambda_every_request_is_flushed(
    moto_runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "changecast-portal")
    metrics = MemoryMetrics()
    moto_runtime.metrics = metrics
    client = TestClient(create_app(moto_runtime))
    client.get("/api/health")
    client.get("/api/health")
    assert len(metrics.flushes) == 2

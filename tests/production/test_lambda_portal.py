"""The portal on Lambda through Mangum: an API Gateway HTTP API event in, a whole answer out."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from changecast.web import lambda_portal
from tests.production.stack import Hub, moto_hub


def http_api_event(method: str, path: str, body: str = "", **headers: str) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) request, as Lambda receives it."""
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"host": "portal.example.com", "accept": "application/json", **headers},
        "requestContext": {
            "http": {
                "method": method,
                "path": path,
                "sourceIp": "203.0.113.7",
                "protocol": "HTTP/1.1",
            },
            "domainName": "portal.example.com",
            "stage": "$default",
            "requestId": "r1",
            "accountId": "123456789012",
            "apiId": "api",
            "time": "01/Dec/2026:10:00:00 +0000",
            "timeEpoch": 1796119200000,
        },
        "body": body,
        "isBase64Encoded": False,
    }


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Hub]:
    with moto_hub(tmp_path) as found:
        found.put_config()
        for name, value in found.aws_mode_env().items():
            if name.startswith("CHANGECAST_"):
                monkeypatch.setenv(name, value)
        assert found.run_cli("index", "migrate", env=found.aws_mode_env()).returncode == 0
        lambda_portal.adapter.cache_clear()
        yield found
        lambda_portal.adapter.cache_clear()


def test_the_lambda_portal_answers_health_and_refuses_dev_login(hub: Hub) -> None:
    ready = lambda_portal.handler(http_api_event("GET", "/api/health/ready"), None)
    assert ready["statusCode"] == 200, ready
    assert json.loads(ready["body"])["status"] == "ready"
    runtime = lambda_portal.adapter().app.state.runtime  # type: ignore[attr-defined]
    assert runtime.settings.mode == "aws"
    assert runtime.settings.web.streaming is False

    login = lambda_portal.handler(
        http_api_event(
            "POST",
            "/auth/dev-login",
            "email=a%40b.c&role=Auditor",
            **{"content-type": "application/x-www-form-urlencoded"},
        ),
        None,
    )
    assert login["statusCode"] == 404
    denied = lambda_portal.handler(http_api_event("GET", "/api/changes"), None)
    assert denied["statusCode"] == 401
    assert json.loads(denied["body"])["error"]["kind"] == "not_signed_in"

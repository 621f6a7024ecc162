"""CSRF: every state-changing route refuses a cookie-authenticated request without the token."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from changecast.bootstrap import Runtime
from changecast.settings import Settings, WebSettings
from changecast.web.app import create_app
from changecast.web.auth.csrf import EXEMPT_PATHS
from tests.builders import change_body
from tests.web.identity_support import (
    SESSION_SECRET,
    dev_login,
    portal_client,
    provisioned_runtime,
)

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
SAMPLE_PARAMS = {
    "change_id": "00000000-0000-4000-8000-000000000000",
    "customer": "acme",
    "code": "acme",
    "action": "approve",
    "version": "1",
    "token_id": "00000000-0000-4000-8000-000000000001",
}


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    with provisioned_runtime(tmp_path_factory.mktemp("csrf")) as built:
        yield built


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with portal_client(runtime) as test_client:
        token = dev_login(test_client)
        del test_client.headers["X-CSRF-Token"]
        test_client.headers["accept"] = "application/json"
        test_client.csrf = token  # type: ignore[attr-defined]
        yield test_client


def api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    """Every APIRoute, looking inside included routers (FastAPI includes them lazily)."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from api_routes(included.routes)
        elif isinstance(route, APIRoute):
            yield route


def unsafe_routes(runtime: Runtime) -> list[tuple[str, str]]:
    """Every (method, concrete path) that may change state, pages and API alike."""
    found: list[tuple[str, str]] = []
    for route in api_routes(create_app(runtime, csrf=True).routes):
        if route.path in EXEMPT_PATHS:
            continue
        path = re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: SAMPLE_PARAMS.get(m[1], "x"), route.path)
        found.extend((method, path) for method in sorted((route.methods or set()) & UNSAFE))
    return found


def test_every_state_changing_route_needs_the_token(client: TestClient, runtime: Runtime) -> None:
    routes = unsafe_routes(runtime)
    assert len(routes) >= 15, routes
    assert ("POST", "/api/changes") in routes and ("POST", "/saml/logout") in routes
    answers = {(method, path): client.request(method, path, json={}) for method, path in routes}
    wrong = {key: a.status_code for key, a in answers.items() if a.status_code != 403}
    assert wrong == {}
    assert {a.json()["error"]["kind"] for a in answers.values()} == {"csrf_failed"}


def test_the_header_or_the_form_field_lets_the_request_through(client: TestClient) -> None:
    token = client.csrf  # type: ignore[attr-defined]
    created = client.post("/api/changes", json=change_body(), headers={"X-CSRF-Token": token})
    assert created.status_code == 201, created.text
    out = client.post("/auth/logout", data={"csrf_token": token})
    assert out.status_code == 200 and out.json() == {"signedOut": True}


def test_a_wrong_or_another_sessions_token_is_refused(client: TestClient, runtime: Runtime) -> None:
    with portal_client(runtime) as other:
        other_token = dev_login(other, email="other@ccoe.example.com")
    for token in ("nonsense", other_token, ""):
        refused = client.post("/api/changes", json=change_body(), headers={"X-CSRF-Token": token})
        assert refused.status_code == 403, token
    form = client.post("/auth/logout", data={"csrf_token": other_token})
    assert form.status_code == 403


def test_reads_need_no_token_and_a_new_sign_in_gets_a_new_token(client: TestClient) -> None:
    assert client.get("/api/changes").status_code == 200
    first = client.get("/api/session").json()["csrfToken"]
    second = dev_login(client)
    assert first and second and first != second


def test_requests_without_a_session_are_not_signed_in_rather_than_forged(
    runtime: Runtime,
) -> None:
    with portal_client(runtime) as anonymous:
        answer = anonymous.post("/api/changes", json=change_body())
        assert answer.status_code == 401


def test_enforced_by_default_outside_local_mode(tmp_path: Path, runtime: Runtime) -> None:
    settings = Settings(
        mode="aws",
        data_dir=tmp_path,
        config=runtime.settings.config_path,
        database_url=f"sqlite:///{tmp_path / 'index.db'}",
        web=WebSettings(session_secret=SESSION_SECRET),
    )
    app = create_app(Runtime(settings=settings))
    assert app.state.csrf_enforced is True

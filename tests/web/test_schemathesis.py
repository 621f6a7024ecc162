"""schemathesis against the ASGI app in process: every operation of the OpenAPI document, as a
signed-in ChangeManager with the CSRF token, at least 1,000 cases: no server error, no answer that
breaks its declared schema."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings

from changecast.bootstrap import Runtime
from changecast.web.app import create_app
from changecast.web.auth.session import COOKIE_NAME
from tests.web.identity_support import dev_login
from tests.web.test_pages_support import module_runtime

schemathesis = pytest.importorskip(
    "schemathesis", reason="schemathesis is not installed (a dev dependency: schemathesis>=4)"
)

runtime = pytest.fixture(scope="module")(module_runtime)

CASES_PER_OPERATION = 56
MINIMUM_CASES = 1_000


@pytest.fixture(scope="module")
def app(runtime: Runtime) -> FastAPI:
    return create_app(runtime)


@pytest.fixture(scope="module")
def signed_in(app: FastAPI) -> Iterator[dict[str, str]]:
    """The headers of a ChangeManager's browser session: its cookie and its CSRF token."""
    with TestClient(app) as client:
        token = dev_login(client)
        cookie = client.cookies.get(COOKIE_NAME)
        assert cookie
        yield {"Cookie": f"{COOKIE_NAME}={cookie}", "X-CSRF-Token": token}


def test_change_ids_are_declared_as_uuids(app: FastAPI) -> None:
    document = app.openapi()
    declared = [
        parameter["schema"]
        for path in document["paths"].values()
        for operation in path.values()
        for parameter in operation.get("parameters", [])
        if parameter["name"] == "change_id"
    ]
    assert len(declared) >= 8
    assert all(schema.get("format") == "uuid" for schema in declared), declared


def test_the_api_holds_its_schema_for_a_thousand_cases(
    app: FastAPI, signed_in: dict[str, str]
) -> None:
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import response_schema_conformance

    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    checks = [not_a_server_error, response_schema_conformance]
    ran: Counter[str] = Counter()
    statuses: Counter[tuple[str, int]] = Counter()
    failures: list[str] = []

    def runner(operation: Any) -> Any:
        label = str(operation.label)

        @settings(
            max_examples=CASES_PER_OPERATION,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            ran[label] += 1
            response = case.call(headers=signed_in)
            statuses[label, response.status_code] += 1
            try:
                case.validate_response(response, checks=checks)
            except Exception as exc:  # collected, reported together below
                failures.append(f"{label}: {response.status_code} {str(exc)[:400]}")

        return run

    for result in schema.get_all_operations():
        runner(result.ok())()

    assert not failures, "\n".join(failures[:20])
    assert sum(ran.values()) >= MINIMUM_CASES, ran
    assert len(ran) >= 20, sorted(ran)
    succeeded = {label for (label, status), _ in statuses.items() if status < 300}
    assert {"GET /api/changes", "GET /api/changes/search", "POST /api/tokens"} <= succeeded, (
        statuses
    )

"""The polled delivery grid and the deliveries API read the index only: 0 S3 requests per poll.

Counted on the real boto3 S3 client of the runtime (moto behind it) with a botocore event hook.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from changecast.bootstrap import Runtime
from tests.web.test_pages_support import browser, deliver_queue, sign_in, submitted_change


class S3Calls:
    """Every S3 operation the client makes, with the key or prefix it names."""

    def __init__(self, client: Any) -> None:
        self.calls: list[tuple[str, str]] = []
        client.meta.events.register("before-parameter-build.s3", self._seen)

    def _seen(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        self.calls.append((model.name, str(params.get("Key") or params.get("Prefix") or "")))

    def during(self, run: Any) -> list[tuple[str, str]]:
        self.calls.clear()
        run()
        return list(self.calls)


@pytest.fixture
def client(moto_runtime: Runtime) -> Iterator[TestClient]:
    with browser(moto_runtime) as test_client:
        sign_in(test_client)
        yield test_client


def test_the_grid_poll_and_the_api_make_no_s3_request(
    client: TestClient, moto_runtime: Runtime
) -> None:
    change_id = submitted_change(client, customers=["acme", "globex", "initech"])
    deliver_queue(moto_runtime, "acme")
    s3 = S3Calls(moto_runtime.store.client)
    answers: dict[str, Any] = {}

    def poll() -> None:
        answers["grid"] = client.get(
            f"/changes/{change_id}/deliveries", headers={"hx-request": "true"}
        )
        answers["api"] = client.get(
            f"/api/changes/{change_id}/deliveries", headers={"accept": "application/json"}
        )

    assert s3.during(poll) == []
    grid, api = answers["grid"], answers["api"]
    assert grid.status_code == api.status_code == 200
    assert 'data-customer="acme" data-event="submitted" data-state="delivered"' in grid.text
    assert 'data-customer="globex" data-event="submitted" data-state="pending"' in grid.text
    assert 'data-pending="true"' in grid.text  # it keeps polling: globex has not reported
    states = {c["customerCode"]: c["state"] for c in api.json()["customers"]}
    assert states == {"acme": "delivered", "globex": "pending", "initech": "pending"}


def test_the_view_reads_the_change_from_s3_and_its_deliveries_from_the_index(
    client: TestClient, moto_runtime: Runtime
) -> None:
    change_id = submitted_change(client, customers=["acme", "globex"])
    deliver_queue(moto_runtime, "acme")
    s3 = S3Calls(moto_runtime.store.client)
    calls = s3.during(lambda: client.get(f"/changes/{change_id}"))
    assert calls, "the hook counts nothing: the view reads its document from S3"
    assert any(key.startswith("archive/") for _, key in calls), calls
    delivery_reads = [c for c in calls if c[1].startswith(("executions/", "customers/"))]
    assert delivery_reads == [], delivery_reads

"""Through the API on moto: an index that fails after S3 accepted an action is not a 500."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from changecast.actions.rebuild import rebuild_index
from changecast.bootstrap import Runtime
from changecast.web.app import create_app
from tests.builders import change_body
from tests.fakes.index import FlakyIndex


def sign_in(client: TestClient, email: str) -> None:
    response = client.post("/auth/dev-login", data={"email": email, "role": "ChangeManager"})
    assert response.status_code == 200
    client.headers["X-CSRF-Token"] = response.json()["csrfToken"]


@pytest.fixture
def flaky(moto_runtime: Runtime) -> FlakyIndex:
    index = FlakyIndex(moto_runtime.index)
    moto_runtime.changes = dataclasses.replace(moto_runtime.changes, index=index)
    return index


@pytest.fixture
def client(moto_runtime: Runtime, flaky: FlakyIndex) -> Iterator[TestClient]:
    with TestClient(create_app(moto_runtime)) as test_client:
        sign_in(test_client, "manager@ccoe.example.com")
        yield test_client


def test_index_down_submit_and_approve_answer_success_and_rebuild_repairs(
    client: TestClient, moto_runtime: Runtime, flaky: FlakyIndex
) -> None:
    flaky.down = True
    created = client.post("/api/changes", json=change_body(customers=["acme", "globex"]))
    assert created.status_code == 201, created.text
    change_id = created.json()["changeId"]

    submitted = client.post(f"/api/changes/{change_id}/submit")
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["complete"] is True
    assert submitted.json()["change"]["status"] == "submitted"
    keys = sorted(moto_runtime.store.list_keys("customers/"))
    assert keys == [f"customers/{c}/{change_id}-v1-submitted.json" for c in ("acme", "globex")]

    sign_in(client, "approver@ccoe.example.com")
    approved = client.post(f"/api/changes/{change_id}/approve")
    assert approved.status_code == 200, approved.text
    assert approved.json()["change"]["status"] == "approved"
    assert len(list(moto_runtime.store.list_keys("customers/acme/"))) == 2
    assert moto_runtime.index.summary(change_id) is None  # the index missed every write

    flaky.down = False
    report = rebuild_index(
        archive=moto_runtime.archive,
        store=moto_runtime.store,
        index=moto_runtime.index,
        audit_index=moto_runtime.audit_index,
    )
    assert report.errors == []
    listed = client.get("/api/changes", params={"status": "approved"}).json()
    assert [item["changeId"] for item in listed["items"]] == [change_id]

"""The JSON API end to end on in-process moto: S3, SQS notifications, SQLite index."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote_plus

import pytest
from fastapi.testclient import TestClient

from changecast.bootstrap import Runtime
from changecast.web.app import create_app
from tests.builders import change_body

BUCKET = "changecast-local"


@pytest.fixture
def client(moto_runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(moto_runtime)) as test_client:
        response = test_client.post(
            "/auth/dev-login", data={"email": "manager@ccoe.example.com", "role": "ChangeManager"}
        )
        assert response.status_code == 200
        test_client.headers["X-CSRF-Token"] = response.json()["csrfToken"]
        yield test_client


def bucket_keys(runtime: Runtime) -> list[str]:
    return sorted(runtime.store.list_keys(""))


def queue_bodies(runtime: Runtime, code: str) -> list[dict[str, Any]]:
    assert runtime.local is not None
    sqs = runtime.aws.client("sqs")
    url = runtime.local.customers[code].queue_url
    bodies: list[dict[str, Any]] = []
    while True:
        answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        messages = answer.get("Messages", [])
        if not messages:
            return bodies
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def change_records(runtime: Runtime, code: str) -> list[str]:
    """Object keys of the S3 events on the customer's queue (test events ignored)."""
    return [
        unquote_plus(record["s3"]["object"]["key"])
        for body in queue_bodies(runtime, code)
        for record in body.get("Records", [])
    ]


def test_health_needs_no_login(moto_runtime: Runtime) -> None:
    with TestClient(create_app(moto_runtime)) as anonymous:
        assert anonymous.get("/api/health").json() == {"status": "ok", "mode": "local"}
        refused = anonymous.get("/api/changes")
        assert refused.status_code == 401
        assert refused.json()["error"]["kind"] == "not_signed_in"


def test_submit_for_three_customers_gives_one_message_per_queue(
    client: TestClient, moto_runtime: Runtime
) -> None:
    for code in ("acme", "globex", "initech"):
        queue_bodies(moto_runtime, code)  # drop S3's test events
    created = client.post("/api/changes", json=change_body())
    assert created.status_code == 201, created.text
    change_id = created.json()["changeId"]
    assert [change_records(moto_runtime, code) for code in ("acme", "globex", "initech")] == [
        [],
        [],
        [],
    ]
    submitted = client.post(f"/api/changes/{change_id}/submit")
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["complete"] is True
    keys = bucket_keys(moto_runtime)
    assert f"archive/latest/{change_id}.json" in keys
    assert sum(1 for k in keys if k.endswith(f"{change_id}-v1.json")) == 1
    triggers = [k for k in keys if k.startswith("customers/")]
    assert len(triggers) == 3
    for code in ("acme", "globex", "initech"):
        assert change_records(moto_runtime, code) == [
            f"customers/{code}/{change_id}-v1-submitted.json"
        ]


def test_edit_then_stale_edit_gets_409(client: TestClient, moto_runtime: Runtime) -> None:
    change_id = client.post("/api/changes", json=change_body(customers=["acme"])).json()["changeId"]
    client.post(f"/api/changes/{change_id}/submit")
    v1 = client.get(f"/api/changes/{change_id}/versions/1").content
    edited = client.put(
        f"/api/changes/{change_id}",
        json={"version": 1, **change_body(customers=["acme"], title="Edited")},
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["version"] == 2
    stale = client.put(
        f"/api/changes/{change_id}",
        json={"version": 1, **change_body(customers=["acme"], title="Stale")},
    )
    assert stale.status_code == 409
    assert stale.json()["error"]["kind"] == "conflict"
    assert stale.json()["error"]["latestVersion"] == 2
    assert client.get(f"/api/changes/{change_id}/versions/1").content == v1
    versions = client.get(f"/api/changes/{change_id}/versions").json()
    assert [v["version"] for v in versions] == [1, 2]
    del moto_runtime


def _with(**changes: Any) -> dict[str, Any]:
    body = change_body()
    body["changeMetadata"].update(changes)
    return body


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        (change_body(customers=["nobody"]), 422, "changeMetadata.customerCodes"),
        (
            change_body(start="2030-03-01T12:00", end="2030-03-01T11:00"),
            422,
            "changeMetadata.schedule",
        ),
        (change_body(timezone="Not/AZone"), 422, "changeMetadata.schedule.timezone"),
        (_with(title="x" * 1_000_000), 422, "changeMetadata.title"),
        (_with(title=""), 422, "changeMetadata.title"),
    ],
)
def test_bad_input_writes_nothing_and_names_the_field(
    client: TestClient, moto_runtime: Runtime, body: dict[str, Any], status: int, field: str
) -> None:
    before = bucket_keys(moto_runtime)
    response = client.post("/api/changes", json=body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["kind"] == "invalid_input"
    assert any(d["field"].startswith(field) for d in error["details"]), error
    assert bucket_keys(moto_runtime) == before


def test_invalid_json_is_400(client: TestClient, moto_runtime: Runtime) -> None:
    before = bucket_keys(moto_runtime)
    response = client.post(
        "/api/changes", content=b'{"changeMetadata": ', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]["message"]
    assert bucket_keys(moto_runtime) == before


@pytest.mark.parametrize("bad_id", ["not-a-uuid", "..%2F..%2Fetc", "123", "x" * 300])
def test_non_uuid_id_is_400(client: TestClient, bad_id: str) -> None:
    for method, path in [
        ("GET", f"/api/changes/{bad_id}"),
        ("POST", f"/api/changes/{bad_id}/approve"),
        ("DELETE", f"/api/drafts/{bad_id}"),
    ]:
        response = client.request(method, path)
        assert response.status_code in {400, 404}, (method, path, response.text)
        assert "error" in response.json()


def test_oversized_body_is_refused_before_parsing(client: TestClient) -> None:
    response = client.post(
        "/api/changes",
        content=b"{" + b" " * (3 * 1024 * 1024) + b"}",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["error"]["kind"] == "invalid_input"


def test_unknown_change_is_404_and_wrong_transition_409(client: TestClient) -> None:
    missing = client.get("/api/changes/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404
    change_id = client.post("/api/changes", json=change_body()).json()["changeId"]
    early = client.post(f"/api/changes/{change_id}/approve")
    assert early.status_code == 409
    assert "draft" in early.json()["error"]["message"]


def test_queries_statistics_my_changes_and_drafts(client: TestClient) -> None:
    a = client.post("/api/changes", json=change_body(title="Patch bastion hosts")).json()[
        "changeId"
    ]
    b = client.post("/api/changes", json=change_body(title="Resize NAT gateways")).json()[
        "changeId"
    ]
    client.post(f"/api/changes/{a}/submit")
    found = client.get("/api/changes/search", params={"q": "bastion"}).json()
    assert [item["changeId"] for item in found["items"]] == [a]
    listed = client.get("/api/changes", params={"status": "draft"}).json()
    assert [item["changeId"] for item in listed["items"]] == [b]
    stats = client.get("/api/changes/statistics").json()
    assert stats["byStatus"]["submitted"] == 1 and stats["byStatus"]["draft"] == 1
    assert client.get("/api/my-changes").json()["total"] == 2
    assert client.get(f"/api/drafts/{b}").json()["status"] == "draft"
    assert client.delete(f"/api/drafts/{b}").status_code == 204
    assert client.get(f"/api/drafts/{b}").status_code == 404
    customers = client.get("/api/customers").json()
    assert [c["code"] for c in customers] == ["acme", "globex", "initech"]


def test_dev_login_rejects_unknown_role(moto_runtime: Runtime) -> None:
    with TestClient(create_app(moto_runtime)) as fresh:
        response = fresh.post("/auth/dev-login", data={"email": "a@b.example", "role": "Root"})
        assert response.status_code == 400


def test_forged_cookie_is_not_a_session(moto_runtime: Runtime) -> None:
    with TestClient(create_app(moto_runtime)) as fresh:
        fresh.cookies.set("changecast_session", "eyJlbWFpbCI6ImV2aWxAeC5jb20ifQ.forged")
        assert fresh.get("/api/changes").status_code == 401

"""The deliveries API, redelivery and the local outbox, over in-process moto and real workers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from changecast.bootstrap import Runtime
from changecast.delivery.pacing import TokenBucket
from changecast.layout import execution_key
from changecast.local.moto_store import sent_mail
from changecast.web.app import create_app
from changecast.workers.processing import CustomerProcessor
from changecast.workers.wiring import build_worker
from tests.builders import change_body


def login(
    client: TestClient,
    role: str = "ChangeManager",
    customers: str = "",
    email: str = "someone@ccoe.example.com",
) -> None:
    answer = client.post(
        "/auth/dev-login", data={"email": email, "role": role, "customers": customers}
    )
    assert answer.status_code == 200
    client.headers["X-CSRF-Token"] = answer.json()["csrfToken"]


@pytest.fixture
def client(moto_runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(moto_runtime)) as test_client:
        login(test_client)
        yield test_client


def deliver_queue(runtime: Runtime, code: str) -> None:
    worker = build_worker(runtime, code, wait_seconds=0)
    assert isinstance(worker.processor, CustomerProcessor)
    worker.processor.deps.bucket = TokenBucket(10_000)
    while worker.poll_once():
        pass


def submitted_change(client: TestClient) -> str:
    change_id = str(client.post("/api/changes", json=change_body()).json()["changeId"])
    assert client.post(f"/api/changes/{change_id}/submit").status_code == 200
    return change_id


def states(client: TestClient, change_id: str) -> dict[str, Any]:
    answer = client.get(f"/api/changes/{change_id}/deliveries")
    assert answer.status_code == 200, answer.text
    return {c["customerCode"]: c for c in answer.json()["customers"]}


def test_every_customer_is_pending_until_its_worker_reports(
    client: TestClient, moto_runtime: Runtime
) -> None:
    change_id = submitted_change(client)
    before = states(client, change_id)
    assert {code: c["state"] for code, c in before.items()} == {
        "acme": "pending",
        "globex": "pending",
        "initech": "pending",
    }
    assert [e["event"] for e in before["acme"]["current"]] == ["submitted"]
    deliver_queue(moto_runtime, "acme")
    after = states(client, change_id)
    assert (after["acme"]["state"], after["globex"]["state"]) == ("delivered", "pending")
    record = after["acme"]["current"][0]["record"]
    assert (record["recipients"], record["sent"], record["failed"]) == (2, 2, 0)
    assert after["acme"]["history"][0]["event"] == "submitted"


def test_redeliver_re_drives_one_customer_and_sends_nothing_twice(
    client: TestClient, moto_runtime: Runtime
) -> None:
    change_id = submitted_change(client)
    for code in ("acme", "globex", "initech"):
        deliver_queue(moto_runtime, code)
    account = moto_runtime.directory.get("acme").account_id
    sent_before = len(sent_mail(account, "us-east-1"))
    answer = client.post(f"/api/changes/{change_id}/redeliver", params={"customer": "acme"})
    assert answer.status_code == 202, answer.text
    assert answer.json()["queued"] == []  # every delivery of acme is complete
    key = execution_key(change_id, 1, "acme")
    moto_runtime.store.delete(key)  # as if the worker never reported
    answer = client.post(f"/api/changes/{change_id}/redeliver", params={"customer": "acme"})
    assert answer.json()["queued"] == [f"customers/acme/{change_id}-v1-submitted.json"]
    deliver_queue(moto_runtime, "acme")
    assert len(sent_mail(account, "us-east-1")) == sent_before
    record = states(client, change_id)["acme"]["current"][0]["record"]
    assert (record["sent"], record["alreadySent"]) == (0, 2)


def test_read_only_users_may_view_deliveries_but_not_redeliver(
    client: TestClient, moto_runtime: Runtime
) -> None:
    change_id = submitted_change(client)
    login(client, role="ReadOnly")
    assert client.get(f"/api/changes/{change_id}/deliveries").status_code == 200
    refused = client.post(f"/api/changes/{change_id}/redeliver", params={"customer": "acme"})
    assert refused.status_code == 403
    assert refused.json()["error"]["kind"] == "permission_denied"
    login(client, role="CustomerManager", customers="globex")  # the change also names acme
    other = client.post(f"/api/changes/{change_id}/redeliver", params={"customer": "acme"})
    assert other.status_code == 403
    mixed = client.post(f"/api/changes/{change_id}/redeliver", params={"customer": "globex"})
    assert mixed.status_code == 403
    assert "acme" not in mixed.text
    assert client.get(f"/api/changes/{change_id}/deliveries").status_code == 403
    login(client, role="CustomerManager", customers="acme,globex,initech")
    own = client.post(f"/api/changes/{change_id}/redeliver", params={"customer": "globex"})
    assert own.status_code == 202


def test_redeliver_refuses_a_customer_not_on_the_change_and_a_draft(client: TestClient) -> None:
    change_id = submitted_change(client)
    wrong = client.post(f"/api/changes/{change_id}/redeliver", params={"customer": "umbrella"})
    assert wrong.status_code == 422
    assert client.post(f"/api/changes/{change_id}/redeliver").status_code == 422
    draft = client.post("/api/changes", json=change_body()).json()["changeId"]
    assert (
        client.post(f"/api/changes/{draft}/redeliver", params={"customer": "acme"}).status_code
        == 409
    )


def test_the_local_outbox_lists_subject_recipient_topic_and_invite(
    client: TestClient, moto_runtime: Runtime
) -> None:
    change_id = submitted_change(client)
    deliver_queue(moto_runtime, "acme")  # the approval request, while it awaits approval
    login(client, email="approver@ccoe.example.com")  # someone else approves
    assert client.post(f"/api/changes/{change_id}/approve").status_code == 200
    deliver_queue(moto_runtime, "acme")
    items = client.get("/api/local/outbox", params={"customer": "acme"}).json()
    summary = sorted((i["topic"], i["recipients"][0], i["hasInvite"]) for i in items)
    assert summary == [
        ("aws-announce", "cloud-architect@acme.example.com", False),
        ("aws-announce", "ops-lead@acme.example.com", False),
        ("aws-announce", "sre-oncall@acme.example.com", False),
        ("aws-approval", "cloud-architect@acme.example.com", False),
        ("aws-approval", "ops-lead@acme.example.com", False),
        ("aws-calendar", "ops-lead@acme.example.com", True),
        ("aws-calendar", "sre-oncall@acme.example.com", True),
    ]
    invite = next(i["invite"] for i in items if i["hasInvite"])
    assert (invite["method"], invite["sequence"]) == ("REQUEST", 1)
    assert invite["uid"] == f"{change_id}-acme@ccoe.example.com"
    with TestClient(create_app(moto_runtime)) as anonymous:
        assert anonymous.get("/api/local/outbox", params={"customer": "acme"}).status_code == 401

"""Preflight on the embedded system: the demo customers pass; an unverified sender is flagged in
the preview, refuses the submit, and an override lets it through, kept on the version and in
the audit trail."""

from __future__ import annotations

import html
import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from changecast.bootstrap import Runtime
from tests.builders import change_body
from tests.web.test_pages_support import browser, sign_in

JSON = {"accept": "application/json"}
REASON = "initech's DNS change lands tonight; approvers are told by phone"


@pytest.fixture
def client(moto_runtime: Runtime) -> Iterator[TestClient]:
    with browser(moto_runtime) as test_client:
        sign_in(test_client)
        yield test_client


def unverify_sender(runtime: Runtime, code: str) -> str:
    """Delete the customer's sender identities (address and domain) in its own SES account."""
    mapping = runtime.directory.get(code)
    session = runtime.aws.assume(mapping.admin_role_arn, session_name="test")
    ses = runtime.aws.client("ses", session=session, region=mapping.region)
    email = runtime.config.email_config
    for identity in (email.sender_address, email.domain):
        ses.delete_identity(Identity=identity)
    return email.sender_address


def draft(client: TestClient, customers: list[str]) -> str:
    created = client.post("/api/changes", json=change_body(customers=customers), headers=JSON)
    assert created.status_code == 201, created.text
    return str(created.json()["changeId"])


def section(page: str, code: str) -> str:
    return page.split(f'<section class="card email-preview" data-customer="{code}"')[1].split(
        "</section>", maxsplit=1
    )[0]


def test_the_demo_customers_pass_preflight(moto_runtime: Runtime) -> None:
    customers = [moto_runtime.directory.get(code) for code in moto_runtime.directory.codes]
    reports = moto_runtime.preflight.check_all(customers, ["aws-approval"])
    assert [r.customer_code for r in reports] == list(moto_runtime.directory.codes)
    assert all(r.ok for r in reports), [r.summary() for r in reports]
    for report in reports:
        passed = {c.name.value for c in report.checks if c.status.value == "pass"}
        assert {"sender_verified", "dkim_verified", "daily_quota", "send_rate"} <= passed


def test_an_unverified_sender_is_flagged_refused_and_overridden_with_an_audit_record(
    client: TestClient, moto_runtime: Runtime
) -> None:
    sender = unverify_sender(moto_runtime, "initech")
    change_id = draft(client, ["acme", "initech"])

    page = html.unescape(client.get(f"/changes/{change_id}/preview").text)
    assert 'data-preflight="fail"' in section(page, "initech")
    assert f"sender {sender} is not verified" in section(page, "initech")
    assert 'data-preflight="fail"' not in section(page, "acme")
    findings = page.split('id="gate-findings"')[1].split("</section>", maxsplit=1)[0]
    assert 'data-customer="initech"' in findings
    assert 'data-customer="acme"' not in findings

    refused = client.post(f"/api/changes/{change_id}/submit", headers=JSON)
    assert refused.status_code == 409, refused.text
    found = refused.json()["error"]["findings"]
    assert [(f["gate"], f["customerCode"], f["blocking"]) for f in found] == [
        ("preflight", "initech", True)
    ]
    assert client.get(f"/api/changes/{change_id}", headers=JSON).json()["status"] == "draft"

    done = client.post(
        f"/api/changes/{change_id}/submit",
        json={"overrides": {"preflight": REASON}},
        headers=JSON,
    )
    assert done.status_code == 200, done.text
    stored = client.get(f"/api/changes/{change_id}", headers=JSON).json()
    assert stored["status"] == "submitted"
    assert [(o["gate"], o["reason"], o["by"]) for o in stored["overrides"]] == [
        ("preflight", REASON, "manager@ccoe.example.com")
    ]

    with browser(moto_runtime) as auditor:
        sign_in(auditor, email="auditor@ccoe.example.com", role="Auditor")
        events = auditor.get(f"/api/audit?change={change_id}", headers=JSON).json()["items"]
    submits = [e for e in events if e["action"] == "submit"]
    assert len(submits) == 1
    assert json.loads(submits[0]["detail"]["overrides"]) == [
        {"gate": "preflight", "reason": REASON}
    ]

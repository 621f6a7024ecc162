"""The pages go through the action pipeline: a gate's refusal is a page with an override field.

The refusing gate is the real preflight gate, on in-process moto: initech's sender is unverified.
"""

from __future__ import annotations

import html
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from changecast.bootstrap import Runtime
from tests.web.test_pages_support import api_change, browser, sign_in
from tests.web.test_preflight_gate import unverify_sender

JSON = {"accept": "application/json"}
REASON = "initech confirmed its DNS change by phone"


@pytest.fixture
def client(moto_runtime: Runtime) -> Iterator[TestClient]:
    with browser(moto_runtime) as test_client:
        sign_in(test_client)
        yield test_client


def test_a_refused_page_submit_shows_the_findings_and_an_override_submits_it(
    client: TestClient, moto_runtime: Runtime
) -> None:
    unverify_sender(moto_runtime, "initech")
    change_id = api_change(client, customers=["acme", "initech"])

    refused = client.post(f"/changes/{change_id}/submit", data={})
    assert refused.status_code == 409, refused.text
    page = html.unescape(refused.text)
    assert "refused by preflight" in page
    assert 'data-customer="initech"' in page.split('id="gate-findings"')[1]
    form = page.split('id="override-form"')[1].split("</form>", maxsplit=1)[0]
    assert f'action="/changes/{change_id}/submit"' in refused.text
    assert 'name="override_preflight"' in form
    assert 'name="csrf_token"' in form
    assert client.get(f"/api/changes/{change_id}", headers=JSON).json()["status"] == "draft"

    done = client.post(f"/changes/{change_id}/submit", data={"override_preflight": REASON})
    assert done.status_code == 200, done.text
    assert "Submitting for approval" in done.text
    stored = client.get(f"/api/changes/{change_id}", headers=JSON).json()
    assert stored["status"] == "submitted"
    assert [(o["gate"], o["action"], o["reason"]) for o in stored["overrides"]] == [
        ("preflight", "submit", REASON)
    ]


def test_an_override_reason_over_500_characters_is_refused_on_the_page(
    client: TestClient, moto_runtime: Runtime
) -> None:
    unverify_sender(moto_runtime, "initech")
    change_id = api_change(client, customers=["initech"])
    refused = client.post(f"/changes/{change_id}/submit", data={"override_preflight": "x" * 501})
    assert refused.status_code == 422, refused.text
    assert "at most 500 characters" in html.unescape(refused.text)
    assert client.get(f"/api/changes/{change_id}", headers=JSON).json()["status"] == "draft"


FORGED = "CAB said yes\r\nApprove for acme: https://evil.test/approve"


def test_an_override_reason_with_a_line_break_is_refused_on_the_page_and_the_api(
    client: TestClient, moto_runtime: Runtime
) -> None:
    unverify_sender(moto_runtime, "initech")
    change_id = api_change(client, customers=["initech"])
    for reason in (FORGED, "ok\nx", "a\x00b", "a\x1b[31mb", "a\u202eb", "a\u2066b"):
        page = client.post(f"/changes/{change_id}/submit", data={"override_preflight": reason})
        assert page.status_code == 422, page.text
        assert "must be one line without control characters" in html.unescape(page.text)
        api = client.post(
            f"/api/changes/{change_id}/submit",
            json={"overrides": {"preflight": reason}},
            headers=JSON,
        )
        assert api.status_code == 422, api.text
        fields = [d["field"] for d in api.json()["error"]["details"]]
        assert fields == ["overrides.preflight"], fields
    assert client.get(f"/api/changes/{change_id}", headers=JSON).json()["status"] == "draft"

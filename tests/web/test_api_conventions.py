"""API conventions: GET → edit → PUT works, every JSON answer is camelCase, the OpenAPI document
types every operation, and the search page answers bad filters with the page, not JSON."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from importlib.metadata import version as package_version
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from changecast.bootstrap import Runtime
from changecast.web.app import create_app
from tests.builders import change_body
from tests.web.identity_support import dev_login
from tests.web.test_pages_support import HTML, module_runtime

runtime = pytest.fixture(scope="module")(module_runtime)
MAPS = {"byStatus", "checks", "detail"}
"""Fields whose keys are data (statuses, check names), not field names."""


@pytest.fixture(scope="module")
def app(runtime: Runtime) -> FastAPI:
    return create_app(runtime)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        dev_login(test_client)
        yield test_client


def snake_keys(value: Any, path: str = "") -> list[str]:
    """Every key with an underscore, with its path."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if "_" in key:
                found.append(f"{path}.{key}")
            if key not in MAPS:
                found += snake_keys(item, f"{path}.{key}")
    elif isinstance(value, list):
        for number, item in enumerate(value):
            found += snake_keys(item, f"{path}[{number}]")
    return found


def new_draft(client: TestClient, title: str) -> str:
    created = client.post("/api/changes", json=change_body(customers=["acme"], title=title))
    assert created.status_code == 201, created.text
    return str(created.json()["changeId"])


def put_back(client: TestClient, change_id: str, document: dict[str, Any]) -> Any:
    return client.put(f"/api/changes/{change_id}", json=document)


def test_a_draft_and_an_archived_change_take_back_what_get_gave(client: TestClient) -> None:
    change_id = new_draft(client, "Round trip draft")
    document = client.get(f"/api/changes/{change_id}").json()
    document["changeMetadata"]["title"] = "Round trip draft, edited"
    saved = put_back(client, change_id, document)
    assert saved.status_code == 200, saved.text
    shown = client.get(f"/api/changes/{change_id}").json()
    assert shown["changeMetadata"]["title"] == "Round trip draft, edited"
    assert saved.json() == shown  # the PUT answer has the shape of GET
    assert shown["status"] == "draft" and shown["version"] == 1

    assert client.post(f"/api/changes/{change_id}/submit").status_code == 200
    submitted = client.get(f"/api/changes/{change_id}").json()
    submitted["changeMetadata"]["title"] = "Round trip, version 2"
    edited = put_back(client, change_id, submitted)
    assert edited.status_code == 200, edited.text
    assert edited.headers["distribution-complete"] == "true"
    latest = client.get(f"/api/changes/{change_id}").json()
    assert edited.json() == latest
    assert latest["version"] == 2 and latest["changeMetadata"]["title"] == "Round trip, version 2"
    assert [e["action"] for e in latest["history"]] == ["create", "submit", "edit"]


def test_contradicting_server_fields_are_refused_and_nothing_changes(client: TestClient) -> None:
    change_id = new_draft(client, "Contradictions")
    assert client.post(f"/api/changes/{change_id}/submit").status_code == 200
    document = client.get(f"/api/changes/{change_id}").json()
    cases = {
        "createdBy": "mallory@evil.test",
        "status": "approved",
        "createdAt": "2001-01-01T00:00:00Z",
        "history": [],
    }
    for field, value in cases.items():
        forged = copy.deepcopy(document) | {field: value}
        answer = put_back(client, change_id, forged)
        assert answer.status_code == 422, (field, answer.text)
        error = answer.json()["error"]
        assert [d["field"] for d in error["details"]] == [field]
        assert field in error["message"]
    named = copy.deepcopy(document)
    named["changeMetadata"]["customerNames"] = ["Someone Else Inc"]
    answer = put_back(client, change_id, named)
    assert answer.status_code == 422
    assert answer.json()["error"]["details"][0]["field"] == "changeMetadata.customerNames"
    unknown = copy.deepcopy(document) | {"approvedBy": "me"}
    assert put_back(client, change_id, unknown).status_code == 422
    assert client.get(f"/api/changes/{change_id}").json() == document


def test_another_change_id_a_stale_version_or_a_draft_saved_since_is_a_409(
    client: TestClient,
) -> None:
    change_id = new_draft(client, "Conflicts")
    other = new_draft(client, "Conflicts, the other one")
    draft = client.get(f"/api/changes/{change_id}").json()
    moved = put_back(client, change_id, draft | {"changeId": other})
    assert moved.status_code == 409
    assert other in moved.json()["error"]["message"]
    first = copy.deepcopy(draft)
    first["changeMetadata"]["title"] = "Conflicts, saved first"
    assert put_back(client, change_id, first).status_code == 200
    late = copy.deepcopy(draft) | {"modifiedAt": "2001-01-01T00:00:00Z"}  # read before that save
    late["changeMetadata"]["title"] = "Conflicts, saved late"
    refused = put_back(client, change_id, late)
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["latestVersion"] == 1
    assert client.get(f"/api/changes/{change_id}").json()["changeMetadata"]["title"] == (
        "Conflicts, saved first"
    )

    assert client.post(f"/api/changes/{change_id}/submit").status_code == 200
    v1 = client.get(f"/api/changes/{change_id}").json()
    assert put_back(client, change_id, v1).status_code == 200  # unchanged: version 2
    stale = put_back(client, change_id, v1 | {"changeMetadata": late["changeMetadata"]})
    assert stale.status_code == 409
    assert stale.json()["error"]["latestVersion"] == 2


def test_every_json_answer_is_camel_case(app: FastAPI, client: TestClient) -> None:
    change_id = new_draft(client, "Camel case")
    submitted = client.post(f"/api/changes/{change_id}/submit")
    token = client.post("/api/tokens", json={"name": "camel"})
    answers = {
        "submit": submitted,
        "retry": client.post(f"/api/changes/{change_id}/retry"),
        "token": token,
        "tokens": client.get("/api/tokens"),
        "list": client.get("/api/changes"),
        "search": client.get("/api/changes/search", params={"q": "camel"}),
        "statistics": client.get("/api/changes/statistics"),
        "mine": client.get("/api/my-changes"),
        "versions": client.get(f"/api/changes/{change_id}/versions"),
        "deliveries": client.get(f"/api/changes/{change_id}/deliveries"),
        "redeliver": client.post(f"/api/changes/{change_id}/redeliver?customer=acme"),
        "session": client.get("/api/session"),
        "customers": client.get("/api/customers"),
        "health": client.get("/api/health"),
        "error": client.get("/api/changes/search"),
    }
    with TestClient(app) as auditor:
        dev_login(auditor, email="inspector@ccoe.example.com", role="Auditor")
        answers["audit"] = auditor.get("/api/audit")
        answers["audit export"] = auditor.get("/api/audit/export", params={"format": "json"})
    assert answers["error"].status_code == 422
    for name, answer in answers.items():
        assert answer.status_code < 300 or name == "error", (name, answer.text)
        assert snake_keys(answer.json()) == [], name
    item = answers["list"].json()["items"][0]
    assert {"changeId", "customerCodes", "createdBy", "modifiedAt"} <= item.keys()
    assert answers["statistics"].json()["byStatus"]["submitted"] >= 1
    assert answers["submit"].json()["distribution"]["results"][0]["customerCode"] == "acme"


def test_the_openapi_document_types_and_tags_every_operation(app: FastAPI) -> None:
    document = app.openapi()
    assert document["info"]["version"] == package_version("changecast")
    tags = {tag["name"]: tag.get("description") for tag in document["tags"]}
    assert all(tags.values()), tags
    untyped = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert set(operation["tags"]) <= tags.keys(), (method, path)
            for status, answer in operation["responses"].items():
                content = answer.get("content", {}).get("application/json")
                if status.startswith("2") and content is not None:
                    schema = content["schema"]
                    if schema.get("type") == "object" and "properties" not in schema:
                        untyped.append(f"{method.upper()} {path}")
            assert "HTTPValidationError" not in str(operation["responses"]), path
    assert untyped == []


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("customer=BAD", "is not a customer code"),
        ("status=bogus", "is not a status"),
        ("from=yesterday", "is not a date"),
    ],
)
def test_bad_search_filters_answer_the_page_with_a_message(
    app: FastAPI, query: str, message: str
) -> None:
    for accept in (HTML, {"accept": "*/*"}):
        with TestClient(app, headers=accept) as browser:
            dev_login(browser)
            page = browser.get(f"/search?q=x&{query}")
            assert page.status_code == 422
            assert page.headers["content-type"].startswith("text/html")
            assert message in page.text and 'class="field-error"' in page.text

"""Validation at the boundary: depth, size, control characters and unknown fields are refused
before anything is written; stored documents that no longer load never take down a read or an
export; every answer but static assets says ``Cache-Control: no-store``; the API docs pages."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from structlog.testing import capture_logs

from changecast.bootstrap import Runtime
from changecast.changes.models import ChangeQuery
from changecast.json_depth import MAX_JSON_DEPTH, json_depth, too_deep
from changecast.settings import Settings, WebSettings
from changecast.web.app import create_app, docs_enabled
from tests.builders import change_body
from tests.web.identity_support import dev_login
from tests.web.test_pages_support import module_runtime

runtime = pytest.fixture(scope="module")(module_runtime)


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime)) as test_client:
        dev_login(test_client)
        yield test_client


def snapshot(runtime: Runtime) -> tuple[dict[str, str], int]:
    """Every object with its ETag, and the number of indexed changes."""
    s3 = runtime.aws.client("s3")
    store: dict[str, str] = {}
    pages = s3.get_paginator("list_objects_v2")
    for page in pages.paginate(Bucket=runtime.config.s3_config.bucket_name):
        store.update({item["Key"]: item["ETag"] for item in page.get("Contents", [])})
    assert store, "the bucket listing found nothing"
    return store, runtime.index.find(ChangeQuery(page_size=1)).total


def nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = {"n": value}
    return value


def nested_json(depth: int) -> str:
    """``nested(depth)`` as JSON text, written out (json.dumps recurses and would give up)."""
    return '{"n":' * depth + '"x"' + "}" * depth


def with_nested(body: dict[str, Any], path: str, depth: int) -> bytes:
    hole = json.dumps(set_path(body, path, "__HOLE__"))
    return hole.replace('"__HOLE__"', nested_json(depth)).encode()


def set_path(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(body)
    *parents, last = path.split(".")
    target = changed
    for part in parents:
        target = target.setdefault(part, {})
    target[last] = value
    return changed


def new_draft(client: TestClient) -> str:
    created = client.post("/api/changes", json=change_body())
    assert created.status_code == 201, created.text
    return str(created.json()["changeId"])


# depth and size


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 250, 300, 5_000])
@pytest.mark.parametrize("where", ["changeMetadata.extra", "meetingInvite.notes", "top"])
def test_deeply_nested_bodies_are_refused_and_nothing_is_written(
    client: TestClient, runtime: Runtime, depth: int, where: str
) -> None:
    if where == "top":
        raw = nested_json(depth).encode()
    else:
        raw = with_nested(change_body(), where, depth)
    before = snapshot(runtime)
    answer = client.post("/api/changes", content=raw, headers=JSON)
    assert answer.status_code == 422, answer.text
    assert "nests deeper than 32 levels" in answer.json()["error"]["message"]
    assert snapshot(runtime) == before


def test_a_deep_edit_of_a_draft_leaves_the_draft_as_it_was(
    client: TestClient, runtime: Runtime
) -> None:
    change_id = new_draft(client)
    before = snapshot(runtime)
    edit = with_nested({"version": 1, **change_body()}, "changeMetadata.tickets.more", 250)
    answer = client.put(f"/api/changes/{change_id}", content=edit, headers=JSON)
    assert answer.status_code == 422
    assert snapshot(runtime) == before
    assert client.get(f"/api/drafts/{change_id}").status_code == 200


JSON = {"content-type": "application/json"}


def test_a_body_of_ordinary_depth_passes(client: TestClient) -> None:
    assert json_depth(change_body(), stop_at=99) == 3
    assert not too_deep(nested_json(MAX_JSON_DEPTH).encode(), MAX_JSON_DEPTH)
    assert too_deep(nested_json(MAX_JSON_DEPTH + 1).encode(), MAX_JSON_DEPTH)
    assert too_deep(("[" * 100_000).encode(), MAX_JSON_DEPTH)
    assert not too_deep(b"not json {{{{", MAX_JSON_DEPTH)  # FastAPI answers that one: 400


def test_a_body_without_content_type_is_checked_too(client: TestClient, runtime: Runtime) -> None:
    before = snapshot(runtime)
    answer = client.post("/api/changes", content=nested_json(300).encode())
    assert answer.status_code == 422
    assert snapshot(runtime) == before


def test_oversized_bodies_are_a_413_announced_or_streamed(
    client: TestClient, runtime: Runtime
) -> None:
    limit = runtime.settings.web.max_body_bytes
    big = change_body()
    big["changeMetadata"]["changeReason"] = "x" * (limit + 10)
    raw = json.dumps(big).encode()
    before = snapshot(runtime)
    announced = client.post("/api/changes", content=raw, headers=JSON)
    assert announced.status_code == 413
    assert announced.json()["error"]["kind"] == "invalid_input"

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(raw), 64 * 1024):
            yield raw[start : start + 64 * 1024]

    streamed = client.post("/api/changes", content=chunks(), headers=JSON)
    assert streamed.status_code == 413
    form_type = {"content-type": "application/x-www-form-urlencoded"}
    fields = b"note=" + b"x" * 1000 + b"&"

    def form_chunks() -> Iterator[bytes]:
        for _ in range(limit // len(fields) + 10):
            yield fields

    form = client.post("/auth/dev-login", content=form_chunks(), headers=form_type)
    assert form.status_code == 413
    assert snapshot(runtime) == before


# control characters

SINGLE_LINE = [
    "changeMetadata.title",
    "changeMetadata.tickets.serviceNow",
    "changeMetadata.tickets.jira",
    "changeMetadata.schedule.timezone",
    "emailNotification.subject",
    "meetingInvite.title",
    "meetingInvite.location",
]
CONTROLS = [
    "a\r\nBcc: x@evil.test",
    "a\nb",
    "a\rb",
    "a\x00b",
    "a\x1bb",
    "a\x7fb",
    "a\x85b",
    "a\u2028b",
    "a\u202eb",  # RIGHT-TO-LEFT OVERRIDE
    "a\u2066b",  # LEFT-TO-RIGHT ISOLATE
    "a\u200fb",  # RIGHT-TO-LEFT MARK
]


def _with(path: str, value: str) -> dict[str, Any]:
    body = change_body()
    if path == "changeMetadata.schedule.timezone":
        value = value.replace("a", "America/New_York", 1)
    return set_path(body, path, value)


@pytest.mark.parametrize("path", SINGLE_LINE)
def test_control_characters_in_single_line_fields_are_refused(
    client: TestClient, runtime: Runtime, path: str
) -> None:
    before = snapshot(runtime)
    for value in CONTROLS:
        answer = client.post("/api/changes", json=_with(path, value))
        assert answer.status_code == 422, (path, value, answer.text)
        fields = [detail["field"] for detail in answer.json()["error"]["details"]]
        assert path in fields, (value, fields)
    assert snapshot(runtime) == before


def test_control_characters_in_customer_names_and_a_draft_edit_are_refused(
    client: TestClient, runtime: Runtime
) -> None:
    named = set_path(change_body(), "changeMetadata.customerNames", ["Acme\r\nInc"])
    answer = client.post("/api/changes", json=named)
    assert answer.status_code == 422
    assert answer.json()["error"]["details"][0]["field"] == "changeMetadata.customerNames.0"
    change_id = new_draft(client)
    before = snapshot(runtime)
    edit = {"version": 1, **_with("meetingInvite.title", "Window\r\nX-Injected: 1")}
    refused = client.put(f"/api/changes/{change_id}", json=edit)
    assert refused.status_code == 422
    assert snapshot(runtime) == before
    comment = client.post(f"/api/changes/{change_id}/reject", json={"comment": "no\x00pe"})
    assert comment.status_code == 422
    assert snapshot(runtime) == before


def test_multi_line_fields_keep_lf_and_tab_and_refuse_other_controls(
    client: TestClient, runtime: Runtime
) -> None:
    body = set_path(change_body(), "changeMetadata.implementationPlan", "1.\tswap\r\n2.\tcheck")
    created = client.post("/api/changes", json=body)
    assert created.status_code == 201, created.text
    plan = created.json()["changeMetadata"]["implementationPlan"]
    assert plan == "1.\tswap\n2.\tcheck"
    before = snapshot(runtime)
    for value in ("a\x00b", "a\x1b[31mb", "a\x08b", "a\u2029b", "a\rb", "a\u202eb"):
        bad = set_path(change_body(), "changeMetadata.rollbackPlan", value)
        answer = client.post("/api/changes", json=bad)
        assert answer.status_code == 422
        assert answer.json()["error"]["details"][0]["field"] == "changeMetadata.rollbackPlan"
    assert snapshot(runtime) == before


def test_a_token_name_must_be_one_line(client: TestClient) -> None:
    answer = client.post("/api/tokens", json={"name": "ci\r\nX-Evil: 1"})
    assert answer.status_code == 422
    assert answer.json()["error"]["details"][0]["field"] == "name"
    for name in ("ci\x00", "ci\x1b[0m", "ci\u202e", "ci\r\n", "\x1fci"):
        refused = client.post("/api/tokens", json={"name": name})
        assert refused.status_code == 422, name
    csrf = client.get("/profile").text.split('name="csrf_token" value="')[1].split('"')[0]
    page = client.post("/profile/tokens", data={"name": "ci\r\nX-Evil: 1", "csrf_token": csrf})
    assert page.status_code == 422, page.text
    assert "must be one line without control characters" in page.text


def test_an_announcement_title_and_link_title_must_be_one_line(
    client: TestClient, runtime: Runtime
) -> None:
    def announcement(title: str, link_title: str = "Details") -> dict[str, Any]:
        body = change_body(title=title)
        body["kind"] = "announcement"
        body["announcement"] = {
            "announcementKind": "general",
            "summary": "A note",
            "links": [{"title": link_title, "url": "https://example.com/x"}],
        }
        return body

    assert client.post("/api/changes", json=announcement("Fine")).status_code == 201
    before = snapshot(runtime)
    for value in CONTROLS:
        answer = client.post("/api/changes", json=announcement(value))
        assert answer.status_code == 422, (value, answer.text)
        linked = client.post("/api/changes", json=announcement("Fine", value))
        assert linked.status_code == 422, (value, linked.text)
        assert "announcement.links.0.title" in [
            d["field"] for d in linked.json()["error"]["details"]
        ]
    assert snapshot(runtime) == before


# unknown fields

UNKNOWN = [
    "emailNotification.bcc",
    "meetingInvite.attendees",
    "changeMetadata.approvedBy",
    "changeMetadata.tickets.github",
    "changeMetadata.schedule.dst",
    "status",
]


@pytest.mark.parametrize("path", UNKNOWN)
def test_unknown_fields_anywhere_are_a_422_naming_the_field(
    client: TestClient, runtime: Runtime, path: str
) -> None:
    before = snapshot(runtime)
    answer = client.post("/api/changes", json=set_path(change_body(), path, ["x@evil.test"]))
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert [d["field"] for d in error["details"]] == [path]
    assert path in error["message"]
    change_id = new_draft(client)
    before = snapshot(runtime)
    edit = set_path({"version": 1, **change_body()}, path, "x")
    assert client.put(f"/api/changes/{change_id}", json=edit).status_code == 422
    assert snapshot(runtime) == before


# stored documents that no longer load


def _draft_key(change_id: str) -> str:
    return f"drafts/{change_id}.json"


def _break(runtime: Runtime, key: str, how: str) -> None:
    document = json.loads(runtime.store.get(key).body)
    if how == "nested":
        runtime.store.put(key, with_nested(document, "changeMetadata.extra", 250))
        return
    document["changeMetadata"]["title"] = ""
    runtime.store.put(key, json.dumps(document).encode())


@pytest.mark.parametrize("how", ["nested", "invalid"])
def test_an_unreadable_draft_is_a_clear_409_and_can_still_be_deleted(
    client: TestClient, runtime: Runtime, how: str
) -> None:
    change_id = new_draft(client)
    _break(runtime, _draft_key(change_id), how)
    with capture_logs() as logs:
        for url in (f"/api/drafts/{change_id}", f"/api/changes/{change_id}"):
            answer = client.get(url)
            assert answer.status_code == 409, answer.text
            assert answer.json()["error"]["kind"] == "unreadable_document"
            assert _draft_key(change_id) in answer.json()["error"]["message"]
        page = client.get(f"/changes/{change_id}", headers={"accept": "text/html"})
        assert page.status_code == 409
        submitted = client.post(f"/api/changes/{change_id}/submit")
        assert submitted.status_code == 409
    assert any(entry["event"] == "stored_document_unreadable" for entry in logs)
    assert client.get("/api/changes").status_code == 200
    deleted = client.delete(f"/api/drafts/{change_id}")
    assert deleted.status_code == 204, deleted.text
    assert _draft_key(change_id) not in runtime.store.list_keys("drafts/")
    assert client.get(f"/api/drafts/{change_id}").status_code == 404


def test_an_unreadable_draft_of_someone_else_without_customers_is_not_theirs_to_delete(
    runtime: Runtime,
) -> None:
    with TestClient(create_app(runtime)) as owner, TestClient(create_app(runtime)) as other:
        dev_login(owner, email="owner@ccoe.example.com")
        dev_login(other, email="acme@ccoe.example.com", role="CustomerManager", customers="acme")
        created = owner.post("/api/changes", json=change_body(customers=[]))
        assert created.status_code == 201, created.text
        change_id = created.json()["changeId"]
        _break(runtime, _draft_key(change_id), "nested")
        assert other.delete(f"/api/drafts/{change_id}").status_code == 403
        assert _draft_key(change_id) in runtime.store.list_keys("drafts/")
        assert owner.delete(f"/api/drafts/{change_id}").status_code == 204


def test_an_unreadable_version_is_skipped_by_the_export_with_a_logged_report(
    client: TestClient, runtime: Runtime
) -> None:
    title = "Export skip probe"
    good = client.post("/api/changes", json=change_body(title=title))
    bad = client.post("/api/changes", json=change_body(title=title))
    ids = [good.json()["changeId"], bad.json()["changeId"]]
    for change_id in ids:
        assert client.post(f"/api/changes/{change_id}/submit").status_code == 200
    _break(runtime, f"archive/latest/{ids[1]}.json", "nested")
    with capture_logs() as logs:
        export = client.get("/search/export.json", params={"q": "skip probe"})
    assert export.status_code == 200, export.text
    assert [doc["changeId"] for doc in export.json()] == [ids[0]]
    skipped = [entry for entry in logs if entry["event"] == "export_skipped_unreadable"]
    assert [entry["change_id"] for entry in skipped] == [ids[1]]
    assert client.get(f"/api/changes/{ids[1]}").status_code == 409
    listed = client.get("/api/changes/search", params={"q": "skip probe"})
    assert listed.status_code == 200 and listed.json()["total"] == 2


def test_documents_written_by_other_tools_still_load_with_their_fields(
    client: TestClient, runtime: Runtime
) -> None:
    change_id = new_draft(client)
    key = _draft_key(change_id)
    document = json.loads(runtime.store.get(key).body)
    document["emailNotification"]["bcc"] = ["archive@example.com"]
    document["sourceTool"] = {"name": "legacy", "version": 3}
    runtime.store.put(key, json.dumps(document).encode())
    answer = client.get(f"/api/drafts/{change_id}")
    assert answer.status_code == 200
    assert answer.json()["emailNotification"]["bcc"] == ["archive@example.com"]
    assert answer.json()["sourceTool"] == {"name": "legacy", "version": 3}


# caching headers and the API docs


def test_every_answer_but_static_assets_is_no_store(client: TestClient) -> None:
    html = {"accept": "text/html"}
    for url, headers in [
        ("/api/session", {}),
        ("/api/changes", {}),
        ("/api/health", {}),
        ("/api/changes/not-a-uuid", {}),
        ("/", html),
        ("/changes", html),
        ("/search", html),
        ("/changes/new", html),
        ("/no-such-page", html),
        ("/openapi.json", {}),
    ]:
        answer = client.get(url, headers=headers)
        assert answer.headers.get("cache-control") == "no-store", (url, answer.status_code)
    created = client.post("/api/changes", json=change_body())
    assert created.headers["cache-control"] == "no-store"
    refused = client.post("/api/changes", json=nested(40))
    assert refused.headers["cache-control"] == "no-store"
    static = client.get("/static/app.js")
    assert static.status_code == 200
    assert "no-store" not in static.headers.get("cache-control", "")


def test_api_docs_are_off_in_aws_mode_unless_enabled(tmp_path: Path) -> None:
    def settings(mode: str, docs: bool | None) -> Settings:
        return Settings(mode=mode, data_dir=tmp_path, web=WebSettings(api_docs=docs))

    assert not docs_enabled(settings("aws", None))
    assert docs_enabled(settings("aws", True))
    assert docs_enabled(settings("local", None))
    assert not docs_enabled(settings("local", False))


def test_api_docs_can_be_turned_off(runtime: Runtime) -> None:
    web = runtime.settings.web.model_copy(update={"api_docs": False})
    off = Runtime(settings=runtime.settings.model_copy(update={"web": web}))
    off.local = runtime.local
    with TestClient(create_app(off)) as anonymous:
        assert anonymous.get("/docs").status_code == 404
        assert anonymous.get("/openapi.json").status_code == 200


# the CLI reads the same input models


def test_cli_input_files_are_bounded_and_strict(tmp_path: Path) -> None:
    from changecast.changes.models import ChangeInput
    from changecast.cli.changes import read_input
    from changecast.errors import InvalidInputError

    deep = tmp_path / "deep.json"
    deep.write_bytes(with_nested(change_body(), "changeMetadata.extra", 5_000))
    with pytest.raises(InvalidInputError, match="nests deeper than 32 levels"):
        read_input(deep, ChangeInput)
    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps(set_path(change_body(), "meetingInvite.attendees", ["x"])))
    with pytest.raises(InvalidInputError) as refused:
        read_input(unknown, ChangeInput)
    assert [p.field for p in refused.value.details] == ["meetingInvite.attendees"]
    crlf = tmp_path / "crlf.json"
    crlf.write_text(json.dumps(change_body(title="Window\r\nBcc: x@evil.test")))
    with pytest.raises(InvalidInputError) as controls:
        read_input(crlf, ChangeInput)
    assert [p.field for p in controls.value.details] == ["changeMetadata.title"]
    fine = tmp_path / "fine.json"
    fine.write_text(json.dumps(change_body()))
    assert read_input(fine, ChangeInput).change_metadata.title == "Rotate TLS certificates"


def test_numbers_in_urls_and_forms_take_only_ascii_digits(
    client: TestClient, runtime: Runtime
) -> None:
    """``str.isdigit()`` is true for U+00B2 (superscript two), which ``int()`` refuses: each
    number a person can type (a version, a page, a compare pair) is a clear answer, not a 500."""
    change_id = new_draft(client)
    for odd in ("\u00b2", "\u2460", "1\u00b2"):
        api = client.get(f"/api/changes/{change_id}/versions/{odd}")
        assert api.status_code == 400, (odd, api.text)
        assert "is not a positive whole number" in api.json()["error"]["message"]
        page = client.get(
            f"/changes/{change_id}",
            params={"compare": odd, "to": odd},
            headers={"accept": "text/html"},
        )
        assert page.status_code == 200, (odd, page.text[:300])
        found = client.get("/search", params={"page": odd}, headers={"accept": "text/html"})
        assert found.status_code == 200, (odd, found.text[:300])
        csrf = client.get(f"/changes/{change_id}/edit", headers={"accept": "text/html"})
        token = csrf.text.split('name="csrf_token" value="')[1].split('"')[0]
        edit = client.post(
            f"/changes/{change_id}/edit",
            data={"version": odd, "title": "Edited", "csrf_token": token},
            headers={"accept": "text/html"},
        )
        assert edit.status_code < 500, (odd, edit.text[:300])  # a draft's form has no version

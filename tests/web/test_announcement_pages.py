"""Announcement pages (list, create, preview, view, edit) and delivery by kind, on moto."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from changecast.bootstrap import Runtime
from changecast.local.outbox import read_outbox
from tests.builders_announcements import HOSTILE_MARKDOWN, announcement_body
from tests.web.test_pages_support import UUID, browser, deliver_queue, module_runtime, sign_in

JSON = {"accept": "*/*"}


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    yield from module_runtime(tmp_path_factory)


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with browser(runtime) as test_client:
        sign_in(test_client)
        yield test_client


def announcement_form(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "notice_kind": "announcement",
        "title": "Cost allocation tags",
        "announcement_kind": "finops",
        "customers": ["acme", "globex"],
        "summary": "Tag your resources.",
        "body": HOSTILE_MARKDOWN,
        "links": "FinOps guide | https://finops.example.com/guide",
        "start": "",
        "end": "",
        "timezone": "UTC",
        "subject": "",
        "intent": "save",
    }
    fields.update(overrides)
    return fields


def hrefs(page: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(r'href="([^"]*)"', page)]


def created(client: TestClient, **overrides: Any) -> str:
    response = client.post("/changes/new", data=announcement_form(**overrides))
    assert response.status_code == 303, response.text
    found = UUID.search(response.headers["location"])
    assert found is not None
    return found.group(0)


def test_the_create_form_asks_for_kind_summary_body_and_links(client: TestClient) -> None:
    page = client.get("/announcements/new")
    assert page.status_code == 200
    for name in ("announcement_kind", "summary", "body", "links"):
        assert f'name="{name}"' in page.text, name
    assert 'name="implementation_plan"' not in page.text
    assert "<h1>Create announcement</h1>" in page.text
    assert '<option value="finops"' in page.text


def test_hostile_markdown_is_safe_on_view_preview_and_edit(client: TestClient) -> None:
    change_id = created(client)
    view = client.get(f"/changes/{change_id}")
    assert view.status_code == 200
    body = view.text.split('id="announcement-body">', 1)[1].split("</dd>", 1)[0]
    assert "<script" not in body and "&lt;script&gt;" in body
    assert "<img" not in body and "<b>" not in body
    assert "<h1>Budget news</h1>" in body
    assert not [h for h in hrefs(view.text) if h.lower().startswith("javascript:")]
    assert "https://finops.example.com/guide" in hrefs(view.text)
    assert "FinOps" in view.text

    preview = client.get(f"/changes/{change_id}/preview")
    assert preview.status_code == 200
    assert "announce-approval" in preview.text
    assert "<script>alert" not in html.unescape(preview.text.replace("&lt;script&gt;", ""))

    edit = client.get(f"/changes/{change_id}/edit")
    assert edit.status_code == 200
    assert 'name="notice_kind" value="announcement"' in edit.text
    assert "FinOps guide | https://finops.example.com/guide" in edit.text
    assert "&lt;script&gt;alert(&#39;body&#39;)&lt;/script&gt;" in edit.text  # textarea: text


def test_a_bad_link_re_renders_the_form_naming_the_links_field(client: TestClient) -> None:
    response = client.post(
        "/changes/new", data=announcement_form(links="Evil | javascript:alert(1)")
    )
    assert response.status_code == 422
    assert 'href="#f-links"' in response.text
    assert "Links:" in response.text


def test_the_list_shows_announcements_only_and_searches_them(client: TestClient) -> None:
    change_id = created(client, title="Reserved instance exchange", body="Exchange window.")
    plain = client.post(
        "/api/changes",
        json={"changeMetadata": {"title": "Reserved instance patching", "customerCodes": ["acme"]}},
        headers=JSON,
    )
    assert plain.status_code == 201, plain.text
    listed = client.get("/announcements", params={"q": "reserved instance"})
    assert listed.status_code == 200
    assert f"/changes/{change_id}" in listed.text
    assert plain.json()["changeId"] not in listed.text
    searched = client.get("/search", params={"q": "exchange window"})
    assert f"/changes/{change_id}" in searched.text
    api = client.get("/api/changes", params={"kind": "announcement", "pageSize": 200}, headers=JSON)
    assert api.status_code == 200
    items = api.json()["items"]
    assert change_id in [i["changeId"] for i in items]
    assert {(i["kind"], i["announcementKind"]) for i in items} == {("announcement", "finops")}
    assert client.get("/api/changes", params={"kind": "memo"}, headers=JSON).status_code == 422


def test_a_finops_announcement_reaches_only_finops_subscribers_of_each_customer(
    runtime: Runtime, client: TestClient
) -> None:
    codes = ("acme", "globex", "initech")
    before = {code: len(read_outbox(runtime, code)) for code in codes}
    made = client.post(
        "/api/changes",
        json=announcement_body(
            title="Savings plan renewal", customers=["acme", "initech"], body=HOSTILE_MARKDOWN
        ),
        headers=JSON,
    )
    assert made.status_code == 201, made.text
    change_id = made.json()["changeId"]
    for action in ("submit", "approve"):
        done = client.post(f"/api/changes/{change_id}/{action}", headers=JSON)
        assert done.status_code == 200, done.text
        for code in ("acme", "initech"):  # the approval request, while it awaits approval
            deliver_queue(runtime, code)
    for code in ("acme", "initech"):
        sent = [m for m in read_outbox(runtime, code)[before[code] :] if change_id in m.body]
        asked = [m for m in sent if m.topic == "announce-approval"]
        published = [m for m in sent if m.topic == "finops-announce"]
        assert sorted(r for m in asked for r in m.recipients) == [
            f"cloud-architect@{code}.example.com"
        ]
        assert [r for m in published for r in m.recipients] == [
            f"finance-watcher@{code}.example.com"
        ]
        assert {m.topic for m in sent} == {"announce-approval", "finops-announce"}
        mail = published[0]
        assert mail.subject.startswith("[Published] FinOps announcement: Savings plan renewal")
        assert "<script" not in mail.body.replace("&lt;script&gt;", "")
        assert "javascript:" not in " ".join(hrefs(mail.body)).lower()
        assert "Cloud change notices" in mail.body  # the customer's (default) branding
    assert len(read_outbox(runtime, "globex")) == before["globex"]  # not on the announcement


def test_restricted_recipients_hold_for_announcements(runtime: Runtime, client: TestClient) -> None:
    before = len(read_outbox(runtime, "globex"))
    made = client.post("/api/changes", json=announcement_body(customers=["globex"]), headers=JSON)
    change_id = made.json()["changeId"]
    for action in ("submit", "approve"):
        assert client.post(f"/api/changes/{change_id}/{action}", headers=JSON).status_code == 200
        deliver_queue(runtime, "globex")  # the approval request, while it awaits approval
    # globex (nonprod) may mail only ops-lead, who follows neither announce-approval nor FinOps
    assert [m for m in read_outbox(runtime, "globex")[before:] if change_id in m.body] == []
    assert runtime.deliveries is not None
    rows = {r.event.value: r for r in runtime.deliveries.for_change(change_id)}
    assert set(rows) == {"submitted", "approved"}
    assert (rows["approved"].sent, rows["approved"].filtered) == (0, 1)  # finance-watcher
    assert (rows["submitted"].sent, rows["submitted"].filtered) == (0, 1)  # cloud-architect

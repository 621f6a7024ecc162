"""A hostile title shows as text everywhere: pages, preview, the email itself, exports."""

from __future__ import annotations

import html
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from changecast.bootstrap import Runtime
from tests.web.test_pages_support import browser, create_draft, module_runtime, sign_in

HOSTILE = '<script>alert(1)</script> "><img src=x onerror=alert(1)>'
RAW_MARKERS = ("<script>alert(1)", "<img src=x", "onerror=alert(1)>")


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    yield from module_runtime(tmp_path_factory)


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with browser(runtime) as test_client:
        sign_in(test_client)
        yield test_client


def assert_text_only(body: str) -> None:
    for marker in RAW_MARKERS:
        assert marker not in body, marker
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_hostile_title_is_text_on_every_page(client: TestClient) -> None:
    change_id = create_draft(
        client, title=HOSTILE, customers=["acme", "globex"], meeting_title=HOSTILE
    )
    pages = [
        f"/changes/{change_id}",
        f"/changes/{change_id}/edit",
        f"/changes/{change_id}/preview",
        "/",
        "/mine?tab=drafts",
        "/search?q=alert",
    ]
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        assert_text_only(response.text)
    submitted = client.post(f"/changes/{change_id}/submit")
    assert_text_only(submitted.text)
    assert_text_only(client.get("/approvals").text)
    approved = client.post(f"/changes/{change_id}/actions/approve")
    assert_text_only(approved.text)


def test_hostile_title_is_text_in_the_rendered_email(client: TestClient) -> None:
    change_id = create_draft(client, title=HOSTILE, customers=["acme"])
    frame = client.get(f"/changes/{change_id}/preview/acme/email.html")
    assert_text_only(frame.text)
    preview = client.get(f"/changes/{change_id}/preview").text
    text_part = preview.split('<pre class="email-text"')[1].split(">", 1)[1].split("</pre>")[0]
    assert HOSTILE in html.unescape(text_part)  # plain text keeps it verbatim, shown escaped
    assert "<script>" not in text_part


def test_hostile_search_text_is_echoed_as_text(client: TestClient) -> None:
    response = client.get("/search", params={"q": HOSTILE, "creator": '"><b>x'})
    assert response.status_code == 200
    for marker in RAW_MARKERS:
        assert marker not in response.text
    assert '"><b>x' not in response.text

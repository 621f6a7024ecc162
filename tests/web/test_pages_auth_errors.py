"""Sign-in redirect, the sign-in page, HTML error pages (403/404/409), headers and static files."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from changecast.bootstrap import Runtime
from changecast.web.app import create_app
from tests.web.test_pages_support import (
    HTML,
    browser,
    create_draft,
    form_fields,
    module_runtime,
    sign_in,
    submitted_change,
)

MISSING = "00000000-0000-4000-8000-000000000000"


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    yield from module_runtime(tmp_path_factory)


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with browser(runtime) as test_client:
        sign_in(test_client)
        yield test_client


@pytest.mark.parametrize("path", ["/", "/search?q=tls", "/mine", "/changes/new", "/profile"])
def test_pages_without_a_session_redirect_to_sign_in_with_next(runtime: Runtime, path: str) -> None:
    with browser(runtime) as anonymous:
        response = anonymous.get(path)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/signin?next=%2F")


def test_sign_in_page_posts_to_dev_login_and_returns_to_next(runtime: Runtime) -> None:
    with browser(runtime) as anonymous:
        page = anonymous.get("/signin?next=/search%3Fq%3Dtls")
        assert page.status_code == 200
        assert 'action="/auth/dev-login"' in page.text
        assert 'name="next" value="/search?q=tls"' in page.text
        for field in ('name="email"', 'name="role"', 'name="customers"'):
            assert field in page.text
        assert "CustomerManager" in page.text
        signed = anonymous.post(
            "/auth/dev-login",
            data={"email": "ops@ccoe.example.com", "role": "ReadOnly", "next": "/search?q=tls"},
        )
        assert signed.status_code == 303
        assert signed.headers["location"] == "/search?q=tls"
        assert "ops@ccoe.example.com" in anonymous.get("/profile").text


def test_sign_in_ignores_an_offsite_next(runtime: Runtime) -> None:
    with browser(runtime) as anonymous:
        page = anonymous.get("/signin?next=//evil.example.com/x")
    assert 'name="next" value="/"' in page.text


def test_sign_out_clears_the_session(client: TestClient) -> None:
    response = client.post("/signout")
    assert response.status_code == 303
    assert client.get("/").headers["location"].startswith("/signin")


def test_unknown_change_gets_the_404_page(client: TestClient) -> None:
    response = client.get(f"/changes/{MISSING}")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert 'data-status="404"' in response.text
    assert f"change {MISSING} not found" in response.text
    assert "search for the change" in response.text


def test_unknown_path_gets_the_404_page(client: TestClient) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "Not found" in response.text


def test_read_only_user_gets_the_403_page_when_creating(runtime: Runtime) -> None:
    with browser(runtime) as reader:
        sign_in(reader, email="reader@ccoe.example.com", role="ReadOnly")
        response = reader.post("/changes/new", data={"title": "x", "customers": ["acme"]})
    assert response.status_code == 403
    assert 'data-status="403"' in response.text
    assert "role ReadOnly may not create changes" in response.text
    assert "(ReadOnly)" in response.text


def test_wrong_transition_gets_the_409_page(client: TestClient) -> None:
    change_id = create_draft(client)
    response = client.post(f"/changes/{change_id}/actions/approve")
    assert response.status_code == 409
    assert 'data-status="409"' in response.text
    assert "is a draft; submit it first" in response.text


def test_stale_edit_gets_the_409_page_with_a_link_to_the_newer_version(
    client: TestClient,
) -> None:
    change_id = submitted_change(client, customers=["acme"])
    first = client.post(
        f"/changes/{change_id}/edit",
        data=form_fields(customers=["acme"], version="1", intent="review"),
    )
    assert first.status_code == 200
    assert "Review: version 1" in first.text
    saved = client.post(
        f"/changes/{change_id}/edit",
        data=form_fields(customers=["acme"], version="1", intent="save", title="Second"),
    )
    assert saved.status_code == 200
    stale = client.post(
        f"/changes/{change_id}/edit",
        data=form_fields(customers=["acme"], version="1", intent="save", title="Stale"),
    )
    assert stale.status_code == 409
    assert "latest version is 2" in stale.text
    assert f'href="/changes/{change_id}/edit">Edit version 2</a>' in stale.text


def test_api_paths_keep_the_json_error_shape(client: TestClient) -> None:
    response = client.get(f"/api/changes/{MISSING}")
    assert response.status_code == 404
    assert response.json()["error"]["kind"] == "not_found"


def test_pages_forbid_inline_script_with_a_content_security_policy(client: TestClient) -> None:
    response = client.get("/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "<script>" not in response.text
    assert " onclick=" not in response.text


def test_static_files_are_served(client: TestClient) -> None:
    htmx = client.get("/static/htmx.min.js")
    assert htmx.status_code == 200
    assert "htmx" in htmx.text[:200]
    assert client.get("/static/app.css").status_code == 200
    assert "changecast_tz" in client.get("/static/app.js").text


def test_a_form_posted_without_a_session_returns_to_the_posting_page(runtime: Runtime) -> None:
    with browser(runtime) as anonymous:
        response = anonymous.post(
            f"/changes/{MISSING}/actions/approve",
            headers={"referer": f"http://testserver/changes/{MISSING}"},
        )
    assert response.status_code == 303
    assert response.headers["location"] == f"/signin?next=%2Fchanges%2F{MISSING}"


def test_portal_forms_carry_the_csrf_token_when_it_is_enforced(runtime: Runtime) -> None:
    app = create_app(runtime, csrf=True)
    with TestClient(app, headers=HTML, follow_redirects=False) as client:
        sign_in(client)
        del client.headers["X-CSRF-Token"]  # only what the page itself carries
        page = client.get("/changes/new").text
        found = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert found is not None
        token = found.group(1)
        assert f'"X-CSRF-Token": "{token}"' in html.unescape(page)  # htmx sends it as a header
        refused = client.post("/changes/new", data=form_fields())
        assert refused.status_code == 403
        assert 'data-status="403"' in refused.text
        created = client.post("/changes/new", data={**form_fields(), "csrf_token": token})
        assert created.status_code == 303
        signed_out = client.post("/signout", data={"csrf_token": token})
        assert signed_out.status_code == 303
        assert client.get("/").headers["location"].startswith("/signin")

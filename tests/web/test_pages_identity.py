"""Identity in the portal: API tokens on the profile page, and the audit trail page for Auditors."""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from changecast.bootstrap import Runtime
from tests.builders import change_body
from tests.web.identity_support import dev_login, portal_client, provisioned_runtime

HTML = {"accept": "text/html"}


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    with provisioned_runtime(tmp_path_factory.mktemp("pages-identity")) as built:
        yield built


def browser(runtime: Runtime, **login: str) -> TestClient:
    """A signed-in HTML client whose only CSRF token is the one in each page's forms."""
    client = portal_client(runtime)
    token = dev_login(client, **login)
    del client.headers["X-CSRF-Token"]
    client.headers.update(HTML)
    client.csrf = token  # type: ignore[attr-defined]
    return client


def form_token(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found is not None, "the page has no form carrying the CSRF token"
    return found.group(1)


def test_profile_creates_a_token_shows_it_once_and_revokes_it(runtime: Runtime) -> None:
    with browser(
        runtime, email="lead@ccoe.example.com", role="CustomerManager", customers="acme"
    ) as me:
        profile = me.get("/profile").text
        created = me.post(
            "/profile/tokens",
            data={"name": "sync job", "expires_in_days": "30", "csrf_token": form_token(profile)},
        )
        assert created.status_code == 303  # post/redirect/get: a reload creates nothing
        assert created.headers["location"] == "/profile#api-tokens"
        shown = me.get("/profile")
        assert shown.headers["cache-control"] == "no-store"
        found = re.search(r'id="new-token-secret">(cc_[A-Za-z0-9_-]{43})<', shown.text)
        assert found is not None
        secret = found.group(1)
        again = me.get("/profile").text
        assert secret not in again and "sync job" in again
        with portal_client(runtime) as script:
            script.headers["Authorization"] = f"Bearer {secret}"
            assert script.get("/api/session").json()["customers"] == ["acme"]
            token_id = re.search(r'data-token="([0-9a-f-]{36})"', again)
            assert token_id is not None
            revoke = f"/profile/tokens/{token_id.group(1)}/revoke"
            assert me.post(revoke).status_code == 403  # no CSRF token
            done = me.post(revoke, data={"csrf_token": form_token(again)})
            assert done.status_code == 303
            assert script.get("/api/session").status_code == 401
        assert "revoked" in me.get("/profile").text


def test_auditors_browse_filter_and_export_the_trail_in_the_portal(runtime: Runtime) -> None:
    with browser(runtime, email="maker@ccoe.example.com") as maker:
        made = maker.post(
            "/api/changes",
            json=change_body(customers=["acme"], title="Audited change"),
            headers={"X-CSRF-Token": maker.csrf, "accept": "application/json"},  # type: ignore[attr-defined]
        )
        change_id = made.json()["changeId"]
        assert 'href="/audit"' not in maker.get("/").text
        assert maker.get("/audit").status_code == 403
    with browser(runtime, email="inspector@ccoe.example.com", role="Auditor") as auditor:
        assert 'href="/audit"' in auditor.get("/").text
        page = auditor.get("/audit", params={"change": change_id, "action": "create"})
        assert page.status_code == 200
        assert page.text.count("<tr data-event=") == 1
        assert "maker@ccoe.example.com" in page.text and "changeMetadata.title" in page.text
        export = re.search(r'href="([^"]+)" id="export-csv"', page.text)
        assert export is not None
        rows = list(csv.DictReader(io.StringIO(auditor.get(html.unescape(export.group(1))).text)))
        assert [(r["action"], r["change_id"]) for r in rows] == [("create", change_id)]
        everything = auditor.get("/audit").text
        assert "audit_export" in everything  # the export itself was recorded
        assert auditor.get("/audit", params={"from": "yesterday"}).status_code == 400

"""Every role x every action x an own and a foreign customer, through the API and the pages alike.

Both surfaces must show 0 violations of the issue's role table (see ``matrix_support``), every
allowed write must be audited, and an Auditor's export must contain all of them.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from changecast.access.models import Role
from changecast.bootstrap import Runtime
from tests.builders import change_body
from tests.web.identity_support import dev_login, portal_client, provisioned_runtime
from tests.web.matrix_support import ALL_ACTIONS, EMAILS, OWN, Surface, run_matrix
from tests.web.test_pages_support import form_fields

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

API: dict[str, tuple[str, str, str, str | None]] = {
    "create": ("none", "POST", "/api/changes", "new"),
    "update draft": ("draft", "PUT", "/api/changes/{cid}", "edit"),
    "delete draft": ("draft", "DELETE", "/api/drafts/{cid}", None),
    "submit": ("draft", "POST", "/api/changes/{cid}/submit", None),
    "approve": ("submitted", "POST", "/api/changes/{cid}/approve", None),
    "reject": ("submitted", "POST", "/api/changes/{cid}/reject", None),
    "complete": ("approved", "POST", "/api/changes/{cid}/complete", None),
    "cancel": ("submitted", "POST", "/api/changes/{cid}/cancel", None),
    "edit": ("submitted", "PUT", "/api/changes/{cid}", "edit"),
    "retry": ("submitted", "POST", "/api/changes/{cid}/retry", None),
    "redeliver": ("submitted", "POST", "/api/changes/{cid}/redeliver?customer={code}", None),
    "view": ("submitted", "GET", "/api/changes/{cid}", None),
    "versions": ("submitted", "GET", "/api/changes/{cid}/versions", None),
    "deliveries": ("submitted", "GET", "/api/changes/{cid}/deliveries", None),
    "search": ("submitted", "GET", "/api/changes/search?q={title}", None),
    "audit browse": ("none", "GET", "/api/audit", None),
    "audit export": ("none", "GET", "/api/audit/export?format=csv", None),
}
"""action: (state its change must be in, method, URL, body)."""

PAGES: dict[str, tuple[str, str, str, str | None]] = {
    "create": ("none", "POST", "/changes/new", "new"),
    "update draft": ("draft", "POST", "/changes/{cid}/edit", "draft"),
    "delete draft": ("draft", "POST", "/changes/{cid}/delete", None),
    "submit": ("draft", "POST", "/changes/{cid}/submit", None),
    "approve": ("submitted", "POST", "/changes/{cid}/actions/approve", None),
    "reject": ("submitted", "POST", "/changes/{cid}/actions/reject", None),
    "complete": ("approved", "POST", "/changes/{cid}/actions/complete", None),
    "cancel": ("submitted", "POST", "/changes/{cid}/actions/cancel", None),
    "edit": ("submitted", "POST", "/changes/{cid}/edit", "edit"),
    "retry": ("submitted", "POST", "/changes/{cid}/actions/retry", None),
    "redeliver": ("submitted", "POST", "/changes/{cid}/deliveries/{code}/retry", None),
    "view": ("submitted", "GET", "/changes/{cid}", None),
    "versions": ("submitted", "GET", "/changes/{cid}?compare=1", None),
    "deliveries": ("submitted", "GET", "/changes/{cid}/deliveries", None),
    "search": ("submitted", "GET", "/search?q={title}", None),
    "audit browse": ("none", "GET", "/audit", None),
    "audit export": ("none", "GET", "/api/audit/export?format=csv", None),
}
"""The same actions through the portal's forms and pages (forms carry ``csrf_token``)."""


def _url(table: dict[str, tuple[str, str, str, str | None]], action: str, **values: Any) -> str:
    return table[action][2].format(**values)


def send_api(client: TestClient, action: str, cid: str | None, code: str, title: str) -> Any:
    method, body = API[action][1], API[action][3]
    payload: dict[str, Any] | None = None
    if body == "new":
        payload = change_body(customers=[code], title=title)
    elif body == "edit":
        payload = {"version": 1, **change_body(customers=[code], title=f"{title} v2")}
    url = _url(API, action, cid=cid, code=code, title=quote(title))
    return client.request(method, url, json=payload)


def api_outcome(action: str, answer: Any, cid: str | None) -> bool | str:
    if action == "search":
        if answer.status_code != 200:
            return f"search answered {answer.status_code}"
        return cid in [item["changeId"] for item in answer.json()["items"]]
    if answer.status_code == 403:
        refused = answer.json()["error"]["kind"] == "permission_denied"
        return False if refused else f"403 for another reason: {answer.text[:200]}"
    if answer.status_code in {200, 201, 202, 204}:
        return True
    return f"unexpected {answer.status_code}: {answer.text[:200]}"


def send_page(client: TestClient, action: str, cid: str | None, code: str, title: str) -> Any:
    method, body = PAGES[action][1], PAGES[action][3]
    url = _url(PAGES, action, cid=cid, code=code, title=quote(title))
    if method == "GET":
        return client.get(url)
    fields: dict[str, Any] = {"csrf_token": client.csrf}  # type: ignore[attr-defined]
    if body is not None:
        fields |= form_fields(customers=[code], title=title if body != "edit" else f"{title} v2")
    if body == "edit":
        fields |= {"version": "1", "intent": "save"}
    return client.post(url, data=fields)


def page_outcome(action: str, answer: Any, cid: str | None) -> bool | str:
    if action == "search":
        return answer.status_code == 200 and f"/changes/{cid}" in answer.text
    if answer.headers.get("content-type", "").startswith("application/json"):
        return api_outcome(action, answer, cid)  # the export link leads to the API
    if answer.status_code == 403:
        text = answer.text
        refused = 'data-status="403"' in text and "needs a CSRF token" not in text
        return False if refused else f"403 for another reason: {answer.text[:300]}"
    if answer.status_code in {200, 303}:
        failed = 'class="summary bad"' in answer.text
        return f"the action failed: {answer.text[-400:]}" if failed else True
    return f"unexpected {answer.status_code}: {answer.text[:300]}"


def page_created(answer: Any) -> str | None:
    found = UUID.search(answer.headers.get("location", ""))
    return found.group(0) if found else None


API_SURFACE = Surface(
    states={a: API[a][0] for a in API},
    send=send_api,
    outcome=api_outcome,
    created=lambda answer: answer.json().get("changeId") if answer.status_code == 201 else None,
)
PAGE_SURFACE = Surface(
    states={a: PAGES[a][0] for a in PAGES},
    send=send_page,
    outcome=page_outcome,
    created=page_created,
)


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    with provisioned_runtime(tmp_path_factory.mktemp("matrix")) as built:
        yield built


@contextmanager
def signed_in_clients(runtime: Runtime, accept: str) -> Iterator[dict[Role, TestClient]]:
    """One signed-in client per role; ``client.csrf`` is its session's CSRF token."""
    with ExitStack() as stack:
        made = {role: stack.enter_context(portal_client(runtime)) for role in Role}
        for role, client in made.items():
            customers = OWN if role is Role.CUSTOMER_MANAGER else ""
            token = dev_login(client, email=EMAILS[role], role=role.value, customers=customers)
            client.csrf = token  # type: ignore[attr-defined]
            client.headers["accept"] = accept
        yield made


@pytest.fixture(scope="module")
def clients(runtime: Runtime) -> Iterator[dict[Role, TestClient]]:
    """API clients: JSON, the CSRF token in the X-CSRF-Token header."""
    with signed_in_clients(runtime, "application/json") as made:
        yield made


@pytest.fixture(scope="module")
def browsers(runtime: Runtime) -> Iterator[dict[Role, TestClient]]:
    """Page clients: HTML, the CSRF token only in each form's csrf_token field."""
    with signed_in_clients(runtime, "text/html") as made:
        for client in made.values():
            del client.headers["X-CSRF-Token"]
        yield made


def _export_rows(client: TestClient) -> list[dict[str, str]]:
    exported = client.get("/api/audit/export", params={"format": "csv"})
    assert exported.status_code == 200
    return list(csv.DictReader(io.StringIO(exported.text)))


def test_every_role_action_and_customer_through_the_api(
    runtime: Runtime, clients: dict[Role, TestClient]
) -> None:
    assert sorted(API) == ALL_ACTIONS
    count, violations, changed = run_matrix(runtime, API_SURFACE, clients)
    assert count == 4 * 17 * 2
    assert violations == [], "\n".join(violations)
    rows = _export_rows(clients[Role.AUDITOR])
    assert changed <= {row["change_id"] for row in rows}
    assert {EMAILS[Role.CHANGE_MANAGER], EMAILS[Role.CUSTOMER_MANAGER]} <= {
        r["actor"] for r in rows
    }


def test_every_role_action_and_customer_through_the_pages(
    runtime: Runtime, browsers: dict[Role, TestClient]
) -> None:
    assert sorted(PAGES) == ALL_ACTIONS
    count, violations, changed = run_matrix(runtime, PAGE_SURFACE, browsers)
    assert count == 4 * 17 * 2
    assert violations == [], "\n".join(violations)
    assert changed <= {row["change_id"] for row in _export_rows(browsers[Role.AUDITOR])}


def test_approving_your_own_change_is_refused_unless_allowed(
    runtime: Runtime, clients: dict[Role, TestClient]
) -> None:
    manager = clients[Role.CHANGE_MANAGER]
    cid = manager.post("/api/changes", json=change_body(customers=[OWN])).json()["changeId"]
    assert manager.post(f"/api/changes/{cid}/submit").status_code == 200
    runtime.__dict__["changes"] = replace(runtime.changes, allow_self_approval=False)
    try:
        refused = manager.post(f"/api/changes/{cid}/approve")
        assert refused.status_code == 403
        assert "someone else must approve" in refused.json()["error"]["message"]
        other = clients[Role.CUSTOMER_MANAGER].post(f"/api/changes/{cid}/approve")
        assert other.status_code == 200
    finally:
        del runtime.__dict__["changes"]

"""API tokens: shown once, stored hashed, scoped to the creator's role, revocable at once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from changecast.access.models import Role
from changecast.access.tokens import ApiToken, hash_token
from changecast.audit.models import AuditAction, AuditQuery
from changecast.bootstrap import Runtime
from changecast.index.access_tables import api_tokens
from tests.builders import change_body
from tests.web.identity_support import dev_login, portal_client, provisioned_runtime


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    with provisioned_runtime(tmp_path_factory.mktemp("tokens")) as built:
        yield built


@pytest.fixture
def session(runtime: Runtime) -> Iterator[TestClient]:
    with portal_client(runtime) as client:
        yield client


@pytest.fixture
def bearer(runtime: Runtime) -> Iterator[TestClient]:
    """A client with no cookies: only what its Authorization header proves."""
    with portal_client(runtime) as client:
        yield client


def new_token(client: TestClient, name: str = "ci") -> dict[str, str]:
    created = client.post("/api/tokens", json={"name": name})
    assert created.status_code == 201, created.text
    body: dict[str, str] = created.json()
    return body


def test_token_is_shown_once_and_only_its_hash_is_kept(
    session: TestClient, runtime: Runtime
) -> None:
    dev_login(session, email="automation.owner@ccoe.example.com")
    created = new_token(session, "nightly sync")
    secret = created["token"]
    assert secret.startswith("cc_") and len(secret) == 3 + 43
    listed = session.get("/api/tokens").json()
    assert [t["name"] for t in listed] == ["nightly sync"]
    assert all("token" not in t for t in listed) and secret not in session.get("/api/tokens").text
    with runtime.index.engine.connect() as conn:
        rows = conn.execute(select(api_tokens)).mappings().all()
    stored = [r for r in rows if r["token_id"] == created["id"]]
    assert stored[0]["token_hash"] == hash_token(secret)
    assert all(secret not in str(dict(r)) for r in rows)


def test_a_token_acts_with_the_role_it_was_made_with(
    session: TestClient, bearer: TestClient
) -> None:
    dev_login(session, email="reader@ccoe.example.com", role="ReadOnly")
    secret = new_token(session)["token"]
    bearer.headers["Authorization"] = f"Bearer {secret}"
    assert bearer.get("/api/changes").status_code == 200
    me = bearer.get("/api/session").json()
    assert (me["email"], me["role"], me["authenticatedBy"]) == (
        "reader@ccoe.example.com",
        "ReadOnly",
        "token",
    )
    refused = bearer.post("/api/changes", json=change_body())
    assert refused.status_code == 403 and refused.json()["error"]["kind"] == "permission_denied"


def test_a_customer_managers_token_writes_only_for_their_customers(
    session: TestClient, bearer: TestClient
) -> None:
    dev_login(session, email="acme.lead@ccoe.example.com", role="CustomerManager", customers="acme")
    bearer.headers["Authorization"] = f"Bearer {new_token(session)['token']}"
    assert bearer.post("/api/changes", json=change_body(customers=["acme"])).status_code == 201
    assert bearer.post("/api/changes", json=change_body(customers=["globex"])).status_code == 403


def test_revoked_token_is_refused_at_once_and_audited(
    session: TestClient, bearer: TestClient, runtime: Runtime
) -> None:
    dev_login(session, email="revoker@ccoe.example.com")
    created = new_token(session)
    bearer.headers["Authorization"] = f"Bearer {created['token']}"
    assert bearer.get("/api/changes").status_code == 200
    assert session.delete(f"/api/tokens/{created['id']}").status_code == 204
    refused = bearer.get("/api/changes")
    assert refused.status_code == 401 and refused.json()["error"]["kind"] == "not_signed_in"
    assert session.get("/api/tokens").json()[0]["revokedAt"] is not None
    actions = [
        e.action
        for e in runtime.audit_index.find(AuditQuery(actor="revoker@ccoe.example.com")).items
    ]
    assert AuditAction.TOKEN_CREATE in actions and AuditAction.TOKEN_REVOKE in actions


def test_unknown_expired_or_malformed_tokens_are_401_even_with_a_session(
    session: TestClient, runtime: Runtime
) -> None:
    dev_login(session, email="mixed@ccoe.example.com")
    expired_secret = "cc_" + "e" * 43
    past = datetime.now(UTC) - timedelta(days=2)
    runtime.tokens.add(
        ApiToken(
            token_id="00000000-0000-4000-8000-00000000e001",
            name="old",
            email="mixed@ccoe.example.com",
            role=Role.CHANGE_MANAGER,
            created_at=past,
            expires_at=past + timedelta(days=1),
        ),
        hash_token(expired_secret),
    )
    for header in (f"Bearer {expired_secret}", "Bearer cc_unknown", "Basic abc", "Bearer "):
        answer = session.get("/api/changes", headers={"Authorization": header})
        assert answer.status_code == 401, header


def test_tokens_cannot_mint_or_revoke_tokens_and_others_tokens_are_not_found(
    session: TestClient, bearer: TestClient
) -> None:
    dev_login(session, email="owner.one@ccoe.example.com")
    created = new_token(session)
    bearer.headers["Authorization"] = f"Bearer {created['token']}"
    assert bearer.post("/api/tokens", json={"name": "more"}).status_code == 403
    assert bearer.delete(f"/api/tokens/{created['id']}").status_code == 403
    dev_login(session, email="owner.two@ccoe.example.com")
    assert session.delete(f"/api/tokens/{created['id']}").status_code == 404
    assert bearer.get("/api/changes").status_code == 200

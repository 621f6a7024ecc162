"""Four eyes through every door (API, portal form, API token), tokens that follow their owner, and
the demo seeds of ``local up`` with self-approval off (its default, in local mode too)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient

from changecast.access.users import disable_user
from changecast.bootstrap import Runtime
from changecast.changes.models import Action, ChangeStatus
from changecast.ids import ChangeId
from tests.builders import change_body
from tests.web.identity_support import dev_login, portal_client, provisioned_runtime

ALICE, BOB = "alice.author@ccoe.example.com", "bob.approver@ccoe.example.com"
CAROL, DAVE = "carol.editor@ccoe.example.com", "dave.reviewer@ccoe.example.com"


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    with provisioned_runtime(tmp_path_factory.mktemp("four-eyes")) as built:
        assert built.settings.mode == "local" and not built.changes.allow_self_approval
        yield built


@contextmanager
def signed_in(runtime: Runtime, email: str, role: str = "ChangeManager") -> Iterator[TestClient]:
    with portal_client(runtime) as client:
        dev_login(client, email=email, role=role)
        yield client


def status_of(runtime: Runtime, cid: str) -> tuple[ChangeStatus, int]:
    latest = runtime.archive.get_latest(ChangeId(cid)).change
    return latest.status, latest.version


def edited_by_carol(runtime: Runtime, title: str) -> str:
    """Alice writes version 1, Bob approves it, Carol edits it into version 2 (submitted)."""
    with signed_in(runtime, ALICE) as alice:
        cid = str(alice.post("/api/changes", json=change_body(title=title)).json()["changeId"])
        assert alice.post(f"/api/changes/{cid}/submit").status_code == 200
    with signed_in(runtime, BOB) as bob:
        assert bob.post(f"/api/changes/{cid}/approve").status_code == 200
    with signed_in(runtime, CAROL) as carol:
        body = {"version": 1, **change_body(title=f"{title}, by Carol")}
        assert carol.put(f"/api/changes/{cid}", json=body).status_code == 200
    assert status_of(runtime, cid) == (ChangeStatus.SUBMITTED, 2)
    return cid


def refused_as_four_eyes(answer: Any, why: str) -> None:
    assert answer.status_code == 403, answer.text
    error = answer.json()["error"]
    assert error["kind"] == "permission_denied"
    assert why in error["message"] and "someone else must approve version" in error["message"]


def test_the_editor_of_version_2_cannot_approve_it_through_the_api(runtime: Runtime) -> None:
    cid = edited_by_carol(runtime, "Rotate the API gateway keys")
    with signed_in(runtime, CAROL.upper()) as carol:  # the email's case changes nothing
        refused_as_four_eyes(carol.post(f"/api/changes/{cid}/approve"), "you edited version 2")
    with signed_in(runtime, ALICE) as alice:
        refused_as_four_eyes(alice.post(f"/api/changes/{cid}/approve"), "you created")
    assert status_of(runtime, cid) == (ChangeStatus.SUBMITTED, 2)
    with signed_in(runtime, BOB) as bob:
        assert bob.post(f"/api/changes/{cid}/approve").status_code == 200
    assert status_of(runtime, cid) == (ChangeStatus.APPROVED, 2)


def test_the_editor_cannot_approve_through_the_portal_form(runtime: Runtime) -> None:
    cid = edited_by_carol(runtime, "Patch the bastion hosts")
    with signed_in(runtime, CAROL) as carol:
        csrf = carol.headers.pop("X-CSRF-Token")  # a browser sends it in the form only
        carol.headers["accept"] = "text/html"
        view = carol.get(f"/changes/{cid}")
        assert view.status_code == 200 and 'data-action="approve"' not in view.text
        assert 'id="four-eyes"' in view.text and "You edited version 2" in view.text
        listed = carol.get("/approvals").text
        assert f'/changes/{cid}"' in listed and f"/changes/{cid}/actions/approve" not in listed
        page = carol.post(f"/changes/{cid}/actions/approve", data={"csrf_token": csrf})
        assert page.status_code == 403
        assert page.headers["content-type"].startswith("text/html")
        assert "you edited version 2" in page.text
        no_csrf = carol.post(f"/changes/{cid}/actions/approve", data={})
        assert no_csrf.status_code == 403 and "you edited" not in no_csrf.text
    assert status_of(runtime, cid) == (ChangeStatus.SUBMITTED, 2)
    with signed_in(runtime, DAVE) as dave:
        csrf = dave.headers.pop("X-CSRF-Token")
        dave.headers["accept"] = "text/html"
        offered = dave.get(f"/changes/{cid}").text
        assert 'data-action="approve"' in offered and 'id="four-eyes"' not in offered
        assert f"/changes/{cid}/actions/approve" in dave.get("/approvals").text
        done = dave.post(f"/changes/{cid}/actions/approve", data={"csrf_token": csrf})
        assert done.status_code == 200, done.text
    assert status_of(runtime, cid) == (ChangeStatus.APPROVED, 2)


def new_token(client: TestClient) -> str:
    created = client.post("/api/tokens", json={"name": "automation"})
    assert created.status_code == 201, created.text
    return str(created.json()["token"])


@contextmanager
def bearer(runtime: Runtime, secret: str) -> Iterator[TestClient]:
    with portal_client(runtime) as client:
        client.headers["Authorization"] = f"Bearer {secret}"
        yield client


def test_the_editor_cannot_approve_with_an_api_token(runtime: Runtime) -> None:
    cid = edited_by_carol(runtime, "Resize the shared Redis cluster")
    with signed_in(runtime, CAROL) as carol:
        secret = new_token(carol)
    with bearer(runtime, secret) as token:
        refused_as_four_eyes(token.post(f"/api/changes/{cid}/approve"), "you edited version 2")
    assert status_of(runtime, cid) == (ChangeStatus.SUBMITTED, 2)


def test_a_token_follows_its_owners_demotion_and_removal(runtime: Runtime) -> None:
    owner = "erin.automation@ccoe.example.com"
    with signed_in(runtime, owner) as erin:
        secret = new_token(erin)
    with bearer(runtime, secret) as token:
        made = token.post("/api/changes", json=change_body(title="Made with the token"))
        assert made.status_code == 201, made.text
        with signed_in(runtime, owner, role="ReadOnly"):  # the IdP now says: ReadOnly
            pass
        assert token.get("/api/session").json()["role"] == "ReadOnly"
        refused = token.post("/api/changes", json=change_body(title="Not any more"))
        assert refused.status_code == 403 and refused.json()["error"]["kind"] == "permission_denied"
        assert token.get("/api/changes").status_code == 200  # it still reads, as ReadOnly does
        with signed_in(runtime, owner):  # promoted back: the token's ceiling is its creation's
            pass
        assert token.post("/api/changes", json=change_body(title="Again")).status_code == 201
        disable_user(runtime.users, owner.upper(), at=runtime.clock.now(), by="ops@example.com")
        ended = token.get("/api/changes")
        assert ended.status_code == 401 and ended.json()["error"]["kind"] == "not_signed_in"
        assert "was removed" in ended.json()["error"]["message"]


def test_a_token_of_an_owner_never_recorded_is_refused(runtime: Runtime) -> None:
    with signed_in(runtime, "frank.legacy@ccoe.example.com") as frank:
        secret = new_token(frank)
    with runtime.index.engine.begin() as conn:  # as if made before tokens followed owners
        from changecast.index.access_tables import known_users

        conn.execute(known_users.delete().where(known_users.c.email.like("frank.%")))
    with bearer(runtime, secret) as token:
        answer = token.get("/api/changes")
        assert answer.status_code == 401 and "must sign in" in answer.json()["error"]["message"]


def test_the_demo_seeds_with_self_approval_off_approved_by_someone_else(
    runtime: Runtime,
) -> None:
    from changecast.local.demo_changes import DEMO_ACTOR, DEMO_APPROVER, create_demo_changes

    assert runtime.changes.allow_self_approval is False
    create_demo_changes(runtime)  # what `local up` runs on first start
    latest = runtime.store.list_keys("archive/latest/")
    changes = [runtime.archive.read(key) for key in latest]
    demo = [c for c in changes if c.created_by == DEMO_ACTOR.email]
    assert sorted(c.status.value for c in demo) == ["approved", "completed", "submitted"]
    approvals = [
        (c.created_by, e.by) for c in demo for e in c.history if e.action is Action.APPROVE
    ]
    assert approvals == [(DEMO_ACTOR.email, DEMO_APPROVER.email)] * 2

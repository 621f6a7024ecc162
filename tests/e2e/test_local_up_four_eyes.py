"""``local up`` with its defaults: self-approval off, the demo seeded by two different people."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from tests.e2e.conftest import LocalUp

pytestmark = pytest.mark.e2e


@contextmanager
def signed_in(url: str, email: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url, timeout=30) as client:
        signed = client.post("/auth/dev-login", data={"email": email, "role": "ChangeManager"})
        assert signed.status_code == 200, signed.text
        client.headers["X-CSRF-Token"] = signed.json()["csrfToken"]
        yield client


def test_local_up_seeds_the_demo_with_four_eyes_on(local_up: LocalUp) -> None:
    local = local_up.start("--customers", "3", "--no-workers")  # demo changes: on by default
    with signed_in(local.portal_url, "alice@ccoe.example.com") as alice:
        listed = alice.get("/api/changes").json()["items"]
        assert sorted(i["status"] for i in listed) == [
            "approved",
            "completed",
            "draft",
            "submitted",
        ]
        for item in listed:
            change = alice.get(f"/api/changes/{item['changeId']}").json()
            approvers = {e["by"] for e in change["history"] if e["action"] == "approve"}
            assert approvers == (
                set() if item["status"] in {"draft", "submitted"} else {"bob@ccoe.example.com"}
            )
            assert change["createdBy"] == "alice@ccoe.example.com"
        waiting = next(i["changeId"] for i in listed if i["status"] == "submitted")
        refused = alice.post(f"/api/changes/{waiting}/approve")
        assert refused.status_code == 403 and "you created" in refused.json()["error"]["message"]
    with signed_in(local.portal_url, "carol@ccoe.example.com") as carol:
        approved = carol.post(f"/api/changes/{waiting}/approve")
        assert approved.status_code == 200, approved.text
    assert local_up.stop() == 0

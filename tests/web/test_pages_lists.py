"""My changes (tabs with counts), Approvals (grouped by customer) and Profile."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from changecast.bootstrap import Runtime
from tests.web.test_pages_support import (
    api_change,
    browser,
    module_runtime,
    sign_in,
    submitted_change,
)


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    yield from module_runtime(tmp_path_factory)


def signed(
    runtime: Runtime, email: str, role: str = "ChangeManager", customers: str = ""
) -> TestClient:
    client = browser(runtime)
    sign_in(client, email=email, role=role, customers=customers)
    return client


def tab_counts(page: str) -> dict[str, int]:
    return {
        key: int(count)
        for key, count in re.findall(
            r'href="/mine\?tab=(\w+)"[^>]*>[^<]*<span class="count-pill">(\d+)</span>', page
        )
    }


def test_my_changes_tabs_have_counts_and_only_my_changes(runtime: Runtime) -> None:
    with (
        signed(runtime, "mine@ccoe.example.com") as me,
        signed(runtime, "else@ccoe.example.com") as other,
    ):
        api_change(me, title="My draft one")
        api_change(me, title="My draft two")
        submitted_change(me, title="My submitted one")
        api_change(other, title="Somebody else's draft")
        drafts = me.get("/mine").text
        assert tab_counts(drafts) == {"drafts": 2, "submitted": 1, "all": 3}
        assert 'aria-current="page" class="active">Drafts' in drafts
        assert "My draft one" in drafts
        assert "My submitted one" not in drafts
        assert "Somebody else" not in drafts
        submitted = me.get("/mine?tab=submitted").text
        assert "My submitted one" in submitted
        assert "My draft one" not in submitted
        everything = me.get("/mine?tab=all").text
        assert all(t in everything for t in ("My draft one", "My draft two", "My submitted one"))


def test_approvals_list_each_change_once_with_its_customers_and_one_approve(
    runtime: Runtime,
) -> None:
    with signed(runtime, "author@ccoe.example.com") as author:
        both = submitted_change(author, title="For acme and initech", customers=["acme", "initech"])
        only = submitted_change(author, title="For globex only", customers=["globex"])
        api_change(author, title="Draft not awaiting", customers=["acme"])
    with signed(runtime, "approver@ccoe.example.com") as client:
        page = client.get("/approvals").text
    rows = dict(re.findall(r'<li id="change-([\w-]+)".*?>(.*?)</li>', page, re.S))
    assert page.count(f'id="change-{both}"') == 1 and page.count(f'id="change-{only}"') == 1
    assert "Acme Corporation" in rows[both] and "Initech" in rows[both]
    assert "Globex" in rows[only] and "Acme Corporation" not in rows[only]
    assert "Draft not awaiting" not in page
    assert page.count(f'action="/changes/{both}/actions/approve"') == 1
    assert "Approve for all 2" in rows[both]


def test_approvals_hide_the_button_from_those_who_may_not_approve(runtime: Runtime) -> None:
    with signed(runtime, "cm@ccoe.example.com") as client:
        change_id = submitted_change(client, title="Needs a reader's eyes", customers=["acme"])
    with signed(runtime, "reader@ccoe.example.com", role="ReadOnly") as reader:
        page = reader.get("/approvals").text
    assert change_id in page
    assert f'action="/changes/{change_id}/actions/approve"' not in page


def test_profile_shows_role_and_the_customers_i_may_act_for(runtime: Runtime) -> None:
    with signed(
        runtime, "cm@ccoe.example.com", role="CustomerManager", customers="acme,initech"
    ) as cm:
        page = cm.get("/profile").text
    assert "cm@ccoe.example.com" in page
    assert re.search(r"<title>\s*Profile · changecast\s*</title>", page)
    assert page.count('id="api-tokens"') == 1
    assert '<strong class="role">CustomerManager</strong>' in page
    assert '<dd class="acting">acme, initech</dd>' in page
    assert "restricted recipients" in page  # globex is non-production
    assert "Europe/Paris" in page
    with signed(runtime, "reader@ccoe.example.com", role="ReadOnly") as reader:
        assert '<dd class="acting">no customer</dd>' in reader.get("/profile").text

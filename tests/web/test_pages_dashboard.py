"""Dashboard: counts by status linking to lists, recent changes, drafts, upcoming windows."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

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


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with browser(runtime, tz="Europe/Paris") as test_client:
        sign_in(test_client)
        yield test_client


def _in_days(days: int) -> tuple[str, str, datetime]:
    local = datetime.now(ZoneInfo("America/New_York")).replace(
        hour=10, minute=0, second=0, microsecond=0
    ) + timedelta(days=days)
    end = local + timedelta(hours=2)
    return local.strftime("%Y-%m-%dT%H:%M"), end.strftime("%Y-%m-%dT%H:%M"), local


def _count(html: str, status: str) -> int:
    found = re.search(
        rf'href="/search\?status={status}">\s*<span class="stat-count">(\d+)</span>', html
    )
    assert found is not None, status
    return int(found.group(1))


def test_counts_by_status_link_to_filtered_lists(client: TestClient) -> None:
    before = client.get("/").text
    submitted_change(client, title="Counted change")
    api_change(client, title="Counted draft")
    after = client.get("/").text
    assert _count(after, "submitted") == _count(before, "submitted") + 1
    assert _count(after, "draft") == _count(before, "draft") + 1
    for status in ("approved", "rejected", "completed", "cancelled"):
        assert f'href="/search?status={status}"' in after


def test_upcoming_windows_show_in_the_viewers_timezone(client: TestClient) -> None:
    start, end, local = _in_days(3)
    submitted_change(client, title="Patch the bastion hosts", start=start, end=end)
    far, far_end, _ = _in_days(40)
    submitted_change(client, title="Far away window", start=far, end=far_end)
    page = client.get("/").text
    upcoming = page.split("Upcoming windows")[1].split("</section>")[0]
    assert "Patch the bastion hosts" in upcoming
    assert "Far away window" not in upcoming
    paris = local.astimezone(ZoneInfo("Europe/Paris")).strftime("%a %d %b %H:%M")
    assert paris in upcoming
    assert 'Times shown in <strong class="tz-name">Europe/Paris</strong>' in page


def test_drafts_that_need_attention_say_what_is_missing(client: TestClient) -> None:
    response = client.post(
        "/changes/new", data={"title": "Half-written notice", "timezone": "UTC", "intent": "save"}
    )
    assert response.status_code == 303
    drafts = client.get("/").text.split("Drafts that need attention")[1].split("</section>")[0]
    assert "Half-written notice" in drafts
    assert "choose customers" in drafts
    assert "set a schedule" in drafts


def test_recent_changes_and_quick_actions(client: TestClient) -> None:
    submitted_change(client, title="Most recent change")
    page = client.get("/").text
    recent = page.split("Recent changes")[1]
    assert "Most recent change" in recent
    assert 'href="/changes/new"' in page
    assert 'href="/approvals"' in page


def test_read_only_users_get_no_create_action(runtime: Runtime) -> None:
    with browser(runtime) as reader:
        sign_in(reader, email="reader@ccoe.example.com", role="ReadOnly")
        page = reader.get("/").text
    assert "+ New change" not in page
    assert "Dashboard" in page

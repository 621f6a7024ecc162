"""The change view's cheaper reads: older versions from the index (S3 when it cannot), a timeline
that shows its newest entries with a link to every one."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient

from changecast.access.models import Actor, Role
from changecast.bootstrap import Runtime
from changecast.ids import ChangeId
from changecast.layout import version_key
from changecast.web.pages.change_view import TIMELINE_SHOWN, version_diff
from tests.fakes.index import FlakyIndex
from tests.web.test_pages_support import (
    browser,
    form_fields,
    module_runtime,
    sign_in,
    submitted_change,
)

VIEWER = Actor(email="viewer@ccoe.example.com", role=Role.CHANGE_MANAGER)


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    yield from module_runtime(tmp_path_factory)


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with browser(runtime) as test_client:
        sign_in(test_client)
        yield test_client


def edited_change(client: TestClient) -> str:
    """Version 1 "Rotate TLS certificates", version 2 "Rotate certificates (v2)"."""
    change_id = submitted_change(client, customers=["acme"])
    edited = client.post(
        f"/changes/{change_id}/edit",
        data=form_fields(customers=["acme"], version="1", title="Rotate certificates (v2)"),
    )
    assert edited.status_code < 400, edited.text
    return change_id


def old_title_in_diff(page: str) -> bool:
    versions = page.split('id="versions"')[1]
    diff = versions.split('<table class="diff">')[1].split("</table>", maxsplit=1)[0]
    return '<td class="old">Rotate TLS certificates</td>' in diff


def test_the_diff_reads_the_older_version_from_the_index(
    client: TestClient, runtime: Runtime
) -> None:
    change_id = edited_change(client)
    latest = runtime.changes.archive.get_latest(ChangeId(change_id)).change
    runtime.store.delete(version_key(change_id, latest.created_at, 1))  # S3 no longer has v1
    page = client.get(f"/changes/{change_id}")
    assert page.status_code == 200
    assert old_title_in_diff(page.text)


def test_s3_serves_the_diff_when_the_index_cannot(client: TestClient, runtime: Runtime) -> None:
    change_id = edited_change(client)
    flaky = FlakyIndex(runtime.changes.index)
    flaky.reads_down = True
    deps = replace(runtime.changes, index=flaky)
    change = runtime.changes.archive.get_latest(ChangeId(change_id)).change
    versions = runtime.changes.index.versions(change_id)
    found = version_diff(deps, VIEWER, change, versions, 0)
    assert found is not None
    left, right, fields = found
    [title] = [f for f in fields if f.label == "Title"]
    assert (left, right, title.before, title.after) == (
        1,
        2,
        "Rotate TLS certificates",
        "Rotate certificates (v2)",
    )


def test_the_timeline_shows_its_newest_entries_and_links_to_every_one(
    client: TestClient,
) -> None:
    change_id = submitted_change(client, customers=["acme"])  # create, submit: 2 entries
    for version in range(1, TIMELINE_SHOWN):  # one edit entry each
        edited = client.post(
            f"/changes/{change_id}/edit",
            data=form_fields(customers=["acme"], version=str(version), title=f"Edit {version}"),
        )
        assert edited.status_code < 400, edited.text
    total = TIMELINE_SHOWN + 1
    page = client.get(f"/changes/{change_id}").text.split('id="timeline"')[1]
    entries = re.findall(r'<li class="event-', page)
    assert len(entries) == TIMELINE_SHOWN
    assert f"(version {TIMELINE_SHOWN})" in page.split("</li>")[0]  # the newest first
    assert "create → draft" not in page  # the oldest is behind the link
    link = f'href="/changes/{change_id}?timeline=all'
    assert link in page and f"Show all {total}</a>" in page
    whole = client.get(f"/changes/{change_id}?timeline=all").text.split('id="timeline"')[1]
    assert len(re.findall(r'<li class="event-', whole)) == total
    assert "create → draft (version 1)" in whole
    assert 'id="timeline-more"' not in whole

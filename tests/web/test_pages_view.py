"""View change: fields, only the actions this user may take now, versions with a diff, timeline."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from changecast.bootstrap import Runtime
from changecast.ids import ChangeId
from tests.web.test_pages_support import (
    api_change,
    browser,
    form_fields,
    module_runtime,
    sign_in,
    submitted_change,
)


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    yield from module_runtime(tmp_path_factory)


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with browser(runtime) as test_client:
        sign_in(test_client)
        yield test_client


def actions_of(html: str) -> set[str]:
    bar = html.split('class="action-bar"')[1].split("</div>", maxsplit=1)[0]
    found = set(re.findall(r'data-action="(\w+)"', bar))
    if '/edit">Edit' in bar:
        found.add("edit")
    if "Preview &amp; submit" in bar:
        found.add("submit")
    return found


def test_view_shows_every_field(client: TestClient) -> None:
    change_id = submitted_change(client, customers=["acme", "globex"])
    page = client.get(f"/changes/{change_id}").text
    for text in (
        "Rotate TLS certificates",
        "Acme Corporation",
        "Globex (non-production)",
        "CHG0001",
        "CCOE-1",
        "Fri 01 Mar 2030, 10:00 \N{EN DASH} 12:00 (America/New_York)",
        "Certificates expire soon.",
        "Swap listeners one by one.",
        "Handshake checks.",
        "Swap back.",
        "Change notification: Rotate TLS certificates",
        "TLS window · Teams",
    ):
        assert text in page, text
    assert "your time: 2030-03-01 16:00 CET" in page  # 10:00 in New York, seen from Paris
    assert '"changeId": "' + change_id in html.unescape(page)


@pytest.mark.parametrize(
    ("status_path", "expected"),
    [
        ([], {"approve", "reject", "edit", "cancel"}),
        (["approve"], {"complete", "edit", "cancel"}),
        (["approve", "complete"], set()),
        (["reject"], set()),
    ],
)
def test_change_manager_sees_the_actions_the_status_allows(
    client: TestClient, status_path: list[str], expected: set[str]
) -> None:
    change_id = submitted_change(client, customers=["acme"])
    for action in status_path:
        client.post(f"/api/changes/{change_id}/{action}", headers={"accept": "*/*"})
    page = client.get(f"/changes/{change_id}").text
    assert actions_of(page) == expected
    if not expected:
        assert "No action is open to you" in page


def test_draft_offers_edit_and_submit(client: TestClient) -> None:
    change_id = api_change(client, customers=["acme"])
    assert actions_of(client.get(f"/changes/{change_id}").text) == {"edit", "submit"}


def test_read_only_and_foreign_customer_managers_see_no_action(
    client: TestClient, runtime: Runtime
) -> None:
    change_id = submitted_change(client, customers=["globex"])
    with browser(runtime) as reader:
        sign_in(reader, email="reader@ccoe.example.com", role="ReadOnly")
        assert actions_of(reader.get(f"/changes/{change_id}").text) == set()
    with browser(runtime) as foreign:
        sign_in(foreign, email="cm@ccoe.example.com", role="CustomerManager", customers="globex")
        assert actions_of(foreign.get(f"/changes/{change_id}").text) == {
            "approve",
            "reject",
            "edit",
            "cancel",
        }
    with browser(runtime) as other:
        sign_in(other, email="cm2@ccoe.example.com", role="CustomerManager", customers="acme")
        assert other.get(f"/changes/{change_id}").status_code == 403


def test_version_history_with_a_side_by_side_diff(client: TestClient) -> None:
    change_id = submitted_change(client, customers=["acme"])
    client.post(
        f"/changes/{change_id}/edit",
        data=form_fields(
            customers=["acme"],
            version="1",
            title="Rotate certificates (v2)",
            implementation_plan="Swap listeners one by one.\nThen the bastions.",
        ),
    )
    page = client.get(f"/changes/{change_id}").text
    versions = page.split('id="versions"')[1]
    assert "v1" in versions
    assert "v2" in versions
    assert "Version 1 ↔ version 2" in versions
    diff = versions.split('<table class="diff">')[1].split("</table>")[0]
    assert '<td class="old">Rotate TLS certificates</td>' in diff
    assert '<td class="new">Rotate certificates (v2)</td>' in diff
    assert '<td class="new">Then the bastions.</td>' in diff
    assert "Rollback plan" not in diff


def test_timeline_lists_each_event_with_its_comment(client: TestClient) -> None:
    change_id = submitted_change(client, customers=["acme"])
    client.post(f"/changes/{change_id}/actions/reject", data={"comment": "Wrong week, try again."})
    timeline = client.get(f"/changes/{change_id}").text.split('id="timeline"')[1]
    assert "reject → rejected (version 1)" in timeline
    assert "submit → submitted (version 1)" in timeline
    assert "create → draft (version 1)" in timeline
    assert "Wrong week, try again." in timeline
    assert timeline.index("reject →") < timeline.index("submit →")


def test_approve_streams_each_customers_trigger_result(client: TestClient) -> None:
    change_id = submitted_change(client, customers=["acme", "initech"])
    page = client.post(f"/changes/{change_id}/actions/approve")
    assert page.status_code == 200
    assert "Approving" in page.text
    assert re.findall(r'data-customer="(\w+)"', page.text) == ["acme", "initech"] or sorted(
        re.findall(r'data-customer="(\w+)"', page.text)
    ) == ["acme", "initech"]
    assert "Emails queued for all 2 customers." in page.text
    assert "trigger" not in page.text.split("<main")[1]  # said as what happens for customers
    assert f'data-result-url="/changes/{change_id}?done=approve"' in page.text
    assert 'The change is now <span class="status status-approved">approved</span>' in page.text


def test_reloading_an_approval_shows_its_result_and_repeats_nothing(runtime: Runtime) -> None:
    with browser(runtime) as author, browser(runtime) as approver:
        sign_in(author, email="writer@ccoe.example.com")
        sign_in(approver, email="reviewer@ccoe.example.com")
        change_id = submitted_change(author, customers=["acme", "initech"])
        form = {"version": "1"}  # the version the button was shown with
        first = approver.post(f"/changes/{change_id}/actions/approve", data=form)
        assert first.status_code == 200 and "Emails queued" in first.text
        again = approver.post(f"/changes/{change_id}/actions/approve", data=form)  # a reload
        assert again.status_code == 303
        assert again.headers["location"] == f"/changes/{change_id}?done=approve"
        result = approver.get(again.headers["location"]).text
        third = author.post(f"/changes/{change_id}/actions/approve", data=form)
    section = result.split('id="result"')[1].split("</section>")[0]
    assert "You approved version 1" in section
    assert "to 2 customers" in section
    assert "your role does not allow" not in result and "you wrote" not in result
    change = runtime.archive.get_latest(ChangeId(change_id)).change
    assert [e.by for e in change.history if e.action.value == "approve"] == [
        "reviewer@ccoe.example.com"
    ]  # approved once
    assert third.status_code in {403, 409}  # anyone else is refused as before


def test_unknown_action_is_404(client: TestClient) -> None:
    change_id = submitted_change(client, customers=["acme"])
    assert client.post(f"/changes/{change_id}/actions/explode").status_code == 404


def test_version_history_names_each_versions_author_not_its_approver(runtime: Runtime) -> None:
    with browser(runtime) as author, browser(runtime) as approver:
        sign_in(author, email="writer@ccoe.example.com")
        sign_in(approver, email="reviewer@ccoe.example.com")
        change_id = submitted_change(author, customers=["acme"])
        approved = approver.post(f"/api/changes/{change_id}/approve", headers={"accept": "*/*"})
        assert approved.status_code == 200, approved.text
        page = approver.get(f"/changes/{change_id}").text
    history = page.split('id="versions"')[1].split("</table>")[0]
    assert re.findall(r'<td data-label="Saved by">([^<]*)</td>', history) == [
        "writer@ccoe.example.com"
    ]
    assert '<span class="muted small status-by">by reviewer@ccoe.example.com</span>' in history


def test_a_read_only_user_is_not_offered_a_change_form(runtime: Runtime) -> None:
    with browser(runtime) as reader:
        sign_in(reader, email="reader@ccoe.example.com", role="ReadOnly")
        home = reader.get("/").text
        refused = reader.get("/changes/new")
    nav = home.split('<nav class="nav"')[1].split("</nav>")[0]
    assert "Create change" not in nav and "/changes/new" not in nav
    assert "Search" in nav
    assert refused.status_code == 403
    assert "may not create changes" in html.unescape(refused.text)

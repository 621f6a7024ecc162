"""Create and edit pages: every field, the customer grid, inline errors, drafts, review and diff."""

from __future__ import annotations

import html
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from changecast.bootstrap import Runtime
from tests.web.test_pages_support import (
    browser,
    create_draft,
    form_fields,
    module_runtime,
    sign_in,
    submitted_change,
)

FIELDS = [
    "title",
    "customers",
    "service_now",
    "jira",
    "start",
    "end",
    "timezone",
    "change_reason",
    "implementation_plan",
    "test_plan",
    "expected_customer_impact",
    "rollback_plan",
    "subject",
    "meeting",
    "meeting_title",
    "meeting_start",
    "meeting_duration",
    "meeting_location",
]


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    yield from module_runtime(tmp_path_factory)


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with browser(runtime, tz="Asia/Tokyo") as test_client:
        sign_in(test_client)
        yield test_client


def test_create_form_has_every_field_and_the_customer_grid(client: TestClient) -> None:
    page = client.get("/changes/new")
    assert page.status_code == 200
    for name in FIELDS:
        assert f'name="{name}"' in page.text, name
    for code in ("acme", "globex", "initech"):
        assert f'name="customers" value="{code}"' in page.text
    assert "Globex (non-production)" in page.text
    for hook in ("data-select-all", "data-clear-all", "data-customer-filter", "data-autosave"):
        assert hook in page.text
    assert "<option selected>Asia/Tokyo</option>" in page.text
    assert 'value="save"' in page.text
    assert 'value="preview"' in page.text
    assert "data-restore-banner" in page.text


def test_save_draft_keeps_every_field(client: TestClient, runtime: Runtime) -> None:
    change_id = create_draft(client, title="Every field survives", meeting_duration="45")
    page = client.get(f"/changes/{change_id}/edit?saved=1")
    assert "Draft saved. Drafts never send mail." in page.text
    for value in ("Every field survives", "CHG0001", "CCOE-1", "2030-03-01T10:00", "Teams"):
        assert f'value="{value}"' in page.text, value
    assert 'value="45"' in page.text
    assert "Swap listeners one by one." in page.text
    assert "<option selected>America/New_York</option>" in page.text
    assert 'value="acme" checked' in page.text
    assert 'value="initech" checked' not in page.text
    assert not [k for k in runtime.store.list_keys("customers/") if change_id in k]


def test_preview_intent_saves_then_opens_the_preview(client: TestClient) -> None:
    response = client.post("/changes/new", data=form_fields(intent="preview"))
    assert response.status_code == 303
    assert response.headers["location"].endswith("/preview")


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"title": ""}, "title", "Title: String should have at least 1 character"),
        ({"end": "2030-03-01T09:00"}, "end", "Implementation end: implementationEnd must be after"),
        ({"timezone": "EST"}, "timezone", "Timezone: 'EST' is not an IANA"),
        ({"start": "tomorrow"}, "start", "Implementation start: Input should be a valid datetime"),
        ({"meeting_duration": "0"}, "meeting_duration", "Meeting duration (minutes): Input should"),
        ({"customers": ["nobody"]}, "customers", "Customers: unknown customer 'nobody'"),
    ],
)
def test_invalid_fields_get_inline_messages_that_name_them(
    client: TestClient, overrides: dict[str, object], field: str, message: str
) -> None:
    response = client.post("/changes/new", data=form_fields(**overrides))
    assert response.status_code == 422
    assert message in html.unescape(response.text)
    assert f'href="#f-{field}"' in response.text
    if field not in {"customers", "timezone"}:
        assert f'id="e-{field}"' in response.text
    assert 'value="Rotate TLS certificates"' in response.text or field == "title"


def test_edit_draft_updates_in_place(client: TestClient) -> None:
    change_id = create_draft(client)
    updated = client.post(
        f"/changes/{change_id}/edit", data=form_fields(title="Renamed draft", version="1")
    )
    assert updated.status_code == 303
    view = client.get(f"/changes/{change_id}").text
    assert "Renamed draft" in view
    assert "Preview &amp; submit" in view


def test_edit_shows_the_version_and_a_diff_before_saving(client: TestClient) -> None:
    change_id = submitted_change(client, customers=["acme"])
    page = client.get(f"/changes/{change_id}/edit").text
    assert "version 1</strong> (latest)" in page
    assert 'name="version" value="1"' in page
    assert 'value="review"' in page
    assert 'value="save"' not in page
    review = client.post(
        f"/changes/{change_id}/edit",
        data=form_fields(customers=["acme"], version="1", intent="review", title="New title"),
    )
    assert review.status_code == 200
    diff = review.text.split('class="card review"')[1].split("</section>")[0]
    assert "Rotate TLS certificates" in diff
    assert "New title" in diff
    assert "Implementation plan" not in diff
    assert "schedule-warning" not in review.text
    assert 'id="save-version"' in review.text


def test_schedule_change_after_approval_warns_that_invites_will_be_updated(
    client: TestClient,
) -> None:
    change_id = submitted_change(client, customers=["acme"])
    client.post(f"/api/changes/{change_id}/approve", headers={"accept": "*/*"})
    review = client.post(
        f"/changes/{change_id}/edit",
        data=form_fields(
            customers=["acme"],
            version="1",
            intent="review",
            start="2030-03-02T10:00",
            end="2030-03-02T12:00",
        ),
    )
    assert 'id="schedule-warning"' in review.text
    assert "updated invite" in review.text
    assert "2030-03-02T10:00" in review.text.split('class="card review"')[1]


def test_saving_an_edit_streams_results_and_makes_the_next_version(client: TestClient) -> None:
    change_id = submitted_change(client, customers=["acme", "initech"])
    saved = client.post(
        f"/changes/{change_id}/edit",
        data=form_fields(customers=["acme", "initech"], version="1", intent="save", title="v2"),
    )
    assert saved.status_code == 200
    assert "Saving version 2" in saved.text
    assert saved.text.count('class="result outcome-written"') == 2
    assert "Emails queued for all 2 customers." in saved.text
    view = client.get(f"/changes/{change_id}").text
    assert 'id="change-version">2<' in view


def test_edit_of_a_finished_change_is_refused(client: TestClient) -> None:
    change_id = submitted_change(client, customers=["acme"])
    client.post(f"/api/changes/{change_id}/reject", headers={"accept": "*/*"})
    response = client.get(f"/changes/{change_id}/edit")
    assert response.status_code == 409
    assert "a rejected change cannot be edited" in response.text


def test_customer_manager_sees_other_customers_disabled(runtime: Runtime) -> None:
    with browser(runtime) as manager:
        sign_in(manager, email="cm@ccoe.example.com", role="CustomerManager", customers="acme")
        page = manager.get("/changes/new").text
    assert 'name="customers" value="acme">' in page
    assert 'name="customers" value="globex" disabled>' in page


def test_delete_draft(client: TestClient) -> None:
    change_id = create_draft(client, title="Doomed draft")
    response = client.post(f"/changes/{change_id}/delete")
    assert response.status_code == 303
    assert client.get(f"/changes/{change_id}").status_code == 404


def test_where_answers_are_buffered_the_results_come_as_one_page(runtime: Runtime) -> None:
    """Lambda sends whole answers: the same page, complete, with a length instead of chunks."""
    web = runtime.settings.web.model_copy(update={"streaming": False})
    buffered = Runtime(
        settings=runtime.settings.model_copy(update={"web": web}), local=runtime.local
    )
    client = browser(buffered)
    sign_in(client)
    change_id = submitted_change(client, customers=["acme", "initech"])
    saved = client.post(
        f"/changes/{change_id}/edit",
        data=form_fields(customers=["acme", "initech"], version="1", intent="save", title="v2"),
    )
    assert saved.status_code == 200
    assert saved.headers.get("content-length") == str(len(saved.content))
    assert "transfer-encoding" not in saved.headers
    assert saved.text.count('class="result outcome-written"') == 2
    assert "Emails queued for all 2 customers." in saved.text
    assert saved.text.rstrip().endswith("</html>")

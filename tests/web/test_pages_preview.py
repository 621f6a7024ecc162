"""Preview: the metadata JSON and each customer's exact email (subject, HTML, text, recipients)."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from changecast.bootstrap import Runtime
from changecast.changes.models import Change
from changecast.delivery.render import preview_email, render_email
from changecast.distribution.models import DistributionEvent
from changecast.web.pages.gate_preview import preview_extras
from tests.web.test_pages_support import (
    browser,
    create_draft,
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


def section(page: str, code: str) -> str:
    return page.split(f'data-customer="{code}"')[1].split("</section>", maxsplit=1)[0]


def test_preview_shows_metadata_and_both_customers_emails(
    client: TestClient, runtime: Runtime
) -> None:
    change_id = create_draft(client, customers=["acme", "globex"])
    page = client.get(f"/changes/{change_id}/preview")
    assert page.status_code == 200
    metadata = re.search(r'<pre class="json" id="metadata-json"[^>]*>(.*?)</pre>', page.text, re.S)
    assert metadata is not None
    document = json.loads(html.unescape(metadata.group(1)))
    assert document["changeId"] == change_id
    assert document["changeMetadata"]["customerCodes"] == ["acme", "globex"]
    change = Change.model_validate(document)
    for code in ("acme", "globex"):
        part = section(page.text, code)
        expected = preview_email(
            render_email(
                change=change,
                event=DistributionEvent.SUBMITTED,
                customer=runtime.directory.get(code),
                email_config=runtime.config.email_config,
                extras=preview_extras(runtime, change, code, DistributionEvent.SUBMITTED),
            )
        )
        shown = html.unescape(part)
        assert f'<dd class="email-subject">{expected.subject}</dd>' in shown
        text_part = re.search(r'<pre class="email-text"[^>]*>(.*?)</pre>', shown, re.S)
        assert text_part is not None and text_part.group(1) == expected.text
        assert '<iframe class="email-frame" sandbox=""' in part
        assert f"/changes/{change_id}/preview/{code}/email.html?event=submitted" in part
        assert 'data-topic="aws-approval"' in part
    assert 'id="submit-button"' in page.text


def test_recipient_counts_follow_topics_and_the_non_production_filter(
    client: TestClient,
) -> None:
    change_id = create_draft(client, customers=["acme", "globex"])
    page = client.get(f"/changes/{change_id}/preview").text
    acme = section(page, "acme")
    globex = section(page, "globex")
    assert re.search(r'<span class="recipient-count">2</span> recipients', acme)
    assert re.search(r'<span class="recipient-count">1</span> recipient\b', globex)
    assert "(3 subscribed)" in globex
    assert "non-production: restricted recipients only" in globex


def test_approved_preview_adds_the_calendar_topic_and_an_invite(client: TestClient) -> None:
    change_id = submitted_change(client, customers=["acme"])
    page = client.get(f"/changes/{change_id}/preview").text
    acme = section(page, "acme")
    assert 'data-topic="aws-announce"' in acme
    assert 'data-topic="aws-calendar"' in acme
    invite = client.get(f"/changes/{change_id}/preview/acme/invite.ics?event=approved")
    assert invite.status_code == 200
    assert invite.headers["content-type"].startswith("text/calendar")
    assert b"BEGIN:VCALENDAR" in invite.content
    assert b"METHOD:REQUEST" in invite.content


def test_email_frame_is_the_renderers_html_under_a_no_script_policy(
    client: TestClient, runtime: Runtime
) -> None:
    change_id = create_draft(client, customers=["acme"])
    frame = client.get(f"/changes/{change_id}/preview/acme/email.html")
    assert frame.status_code == 200
    change = Change.model_validate(client.get(f"/api/changes/{change_id}").json())
    expected = render_email(
        change=change,
        event=DistributionEvent.SUBMITTED,
        customer=runtime.directory.get("acme"),
        email_config=runtime.config.email_config,
        extras=preview_extras(runtime, change, "acme", DistributionEvent.SUBMITTED),
    )
    assert frame.text == preview_email(expected).html
    assert "Approve for Acme Corporation" in frame.text
    assert 'href="#example-changecast-signoff-approve"' in frame.text  # labelled, not raw
    assert "%%" not in frame.text and "amazonSESUnsubscribeUrl" not in frame.text
    policy = frame.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "script-src" not in policy
    assert "sandbox" in policy


def test_email_frame_of_a_customer_not_on_the_change_is_404(client: TestClient) -> None:
    change_id = create_draft(client, customers=["acme"])
    assert client.get(f"/changes/{change_id}/preview/initech/email.html").status_code == 404


def test_preview_without_customers_says_to_choose_some(client: TestClient) -> None:
    response = client.post(
        "/changes/new", data={"title": "No customers yet", "timezone": "UTC", "intent": "preview"}
    )
    page = client.get(response.headers["location"]).text
    assert "Choose at least one customer" in page


@pytest.mark.parametrize("event", ["submitted", "completed", "survey", "cancelled"])
def test_previews_show_per_recipient_parts_as_labelled_examples(
    client: TestClient, event: str
) -> None:
    change_id = create_draft(client, customers=["acme"])
    page = client.get(f"/changes/{change_id}/preview?event={event}").text
    preview = page.split('class="card email-preview" data-customer="acme"')[1]
    text = html.unescape(
        preview.split('<pre class="email-text"')[1].split(">", 1)[1].split("</pre>")[0]
    )
    frame = client.get(f"/changes/{change_id}/preview/acme/email.html?event={event}").text
    for part in (text, frame):
        assert "%%changecast" not in part
        assert "{{amazonSESUnsubscribeUrl}}" not in part
    assert (
        "Unsubscribe or change your preferences: <unsubscribe link, personal to each recipient "
        "(added by SES)>" in text
    )
    assert 'href="#example-amazonsesunsubscribeurl"' in frame
    if event == "submitted":
        assert (
            "Approve for Acme Corporation: <example link, personal to each recipient: approves "
            "for their customer>" in text
        )
    if event == "survey":
        assert "<example link, personal to each recipient: their own survey>" in text
        assert 'title="example link, personal to each recipient: their own survey"' in frame

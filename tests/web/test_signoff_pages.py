"""Customer sign-off by signed link, conflicts and blackouts, and the calendar feed: real app, moto.

The module's config.json requires full customer sign-off and has a blackout for acme in June
2031, so approvals here need every customer's sign-off first.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import icalendar
import pytest
from fastapi.testclient import TestClient

from changecast.access.links import LinkSigner
from changecast.access.signoff import Decision, SignoffLinks, signoff_prefix
from changecast.audit.models import AuditAction, AuditQuery
from changecast.bootstrap import Runtime, link_secret
from changecast.customers.models import Blackout
from changecast.ids import ChangeId
from changecast.local.outbox import read_outbox
from tests.builders import change_body
from tests.unit.test_links import legacy_token
from tests.web.test_pages_support import (
    api_change,
    browser,
    deliver_queue,
    module_runtime,
    sign_in,
    submitted_change,
)

JSON = {"accept": "application/json"}
TOKEN = re.compile(r"/signoff/([A-Za-z0-9_.-]+)")
NONCE = re.compile(r'name="nonce" value="([^"]+)"')


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    for made in module_runtime(tmp_path_factory):
        blackout = Blackout.model_validate(
            {
                "start": "2031-06-01T00:00:00Z",
                "end": "2031-06-07T00:00:00Z",
                "reason": "June freeze",
            }
        )
        mappings = dict(made.config.customer_mappings)
        mappings["acme"] = mappings["acme"].model_copy(update={"blackouts": (blackout,)})
        made.config = made.config.model_copy(  # before anything reads it (gates, links)
            update={"require_customer_signoff": True, "customer_mappings": mappings}
        )
        yield made


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with browser(runtime) as test_client:
        sign_in(test_client)
        yield test_client


@pytest.fixture
def anonymous(runtime: Runtime) -> Iterator[TestClient]:
    with browser(runtime) as test_client:
        yield test_client


def window(day: str, hour: int = 10) -> dict[str, str]:
    return {"start": f"{day}T{hour:02d}:00", "end": f"{day}T{hour + 2:02d}:00"}


def links(runtime: Runtime) -> SignoffLinks:
    found = runtime.signoff_links
    assert found is not None
    return found


def token_for(runtime: Runtime, change_id: str, recipient: str, decision: Decision) -> str:
    change = runtime.archive.get_latest(ChangeId(change_id)).change
    return links(runtime).token(change, "acme", recipient, decision)


def signoff_keys(runtime: Runtime, change_id: str, version: int = 1) -> list[str]:
    return list(runtime.store.list_keys(signoff_prefix(change_id, version)))


def confirm(client: TestClient, token: str, comment: str = "") -> Any:
    page = client.get(f"/signoff/{token}")
    assert page.status_code == 200, page.text
    nonce = NONCE.search(page.text)
    assert nonce is not None
    posted = client.post(f"/signoff/{token}", data={"nonce": nonce.group(1), "comment": comment})
    if posted.status_code != 303:
        return posted
    # post/redirect/get: the answer's page is a GET, and reloading it shows the same answer
    assert posted.headers["location"] == f"/signoff/{token}?answered=1"
    shown = client.get(posted.headers["location"])
    assert client.get(posted.headers["location"]).text == shown.text
    return shown


def test_the_emailed_link_approves_once_and_the_change_view_shows_it(
    runtime: Runtime, client: TestClient, anonymous: TestClient
) -> None:
    change_id = submitted_change(client, customers=["acme"], **window("2030-05-01"))
    deliver_queue(runtime, "acme")
    mine = [
        m for m in read_outbox(runtime, "acme") if change_id in m.body or "Approval" in m.subject
    ]
    bodies = [html.unescape(m.body) for m in mine if TOKEN.search(html.unescape(m.body))]
    assert bodies, "the approval request carries sign-off links"
    approve = TOKEN.findall(bodies[-1])[0]
    link = links(runtime).read(approve, now=runtime.clock.now())
    assert (link.change_id, link.decision) == (change_id, Decision.APPROVE)

    page = anonymous.get(f"/signoff/{approve}")
    assert page.status_code == 200
    assert "version 1" in page.text and "Approve for Acme Corporation?" in page.text
    assert signoff_keys(runtime, change_id) == []  # a GET changes nothing

    done = confirm(anonymous, approve, comment="Fine by us <b>")
    assert done.status_code == 200, done.text
    assert "Recorded" in done.text
    assert len(signoff_keys(runtime, change_id)) == 1

    again = anonymous.get(f"/signoff/{approve}")
    assert again.status_code == 409
    assert "already" in again.text and 'data-reason="used"' in again.text
    reject = token_for(runtime, change_id, link.recipient, Decision.REJECT)
    other = anonymous.post(f"/signoff/{reject}", data={"nonce": "x", "comment": ""})
    assert other.status_code in {409, 422}
    assert len(signoff_keys(runtime, change_id)) == 1

    view = client.get(f"/changes/{change_id}").text
    section = view.split('id="signoffs"')[1].split("</section>")[0]
    assert link.recipient in section
    assert "signed off" in section
    assert "Fine by us &lt;b&gt;" in section
    events = runtime.audit_index.find(AuditQuery(change_id=change_id, action=AuditAction.SIGNOFF))
    assert [(e.actor, e.detail["decision"]) for e in events.items] == [(link.recipient, "approve")]


def test_a_tampered_link_gets_a_clear_page_and_changes_nothing(
    runtime: Runtime, client: TestClient, anonymous: TestClient
) -> None:
    change_id = submitted_change(client, customers=["acme"], **window("2030-05-02"))
    token = token_for(runtime, change_id, "ops@acme.example.com", Decision.APPROVE)
    flipped = token[:10] + ("A" if token[10] != "A" else "B") + token[11:]
    for response in (
        anonymous.get(f"/signoff/{flipped}"),
        anonymous.post(f"/signoff/{flipped}", data={"nonce": "n", "comment": ""}),
    ):
        assert response.status_code == 404
        assert "This link is not valid" in response.text
        assert "Nothing was changed" in response.text
    forged = LinkSigner("f" * 40).sign("signoff", {"c": change_id}, expires_at=runtime.clock.now())
    assert anonymous.get(f"/signoff/{forged}").status_code == 404
    assert signoff_keys(runtime, change_id) == []


def test_a_link_for_an_older_version_is_refused(
    runtime: Runtime, client: TestClient, anonymous: TestClient
) -> None:
    change_id = submitted_change(client, customers=["acme"], **window("2030-05-03"))
    old = token_for(runtime, change_id, "ops@acme.example.com", Decision.APPROVE)
    document = client.get(f"/api/changes/{change_id}", headers=JSON).json()
    document["changeMetadata"]["title"] = "Rotate TLS certificates, again"
    saved = client.put(f"/api/changes/{change_id}", json=document, headers=JSON)
    assert saved.status_code == 200, saved.text
    page = anonymous.get(f"/signoff/{old}")
    assert page.status_code == 409
    assert "older version" in page.text and "now at version 2" in page.text
    assert anonymous.post(f"/signoff/{old}", data={"nonce": "n"}).status_code == 409
    assert signoff_keys(runtime, change_id, 1) == signoff_keys(runtime, change_id, 2) == []


def test_an_expired_link_is_refused(
    runtime: Runtime, client: TestClient, anonymous: TestClient
) -> None:
    change_id = submitted_change(client, customers=["acme"], **window("2030-05-04"))
    change = runtime.archive.get_latest(ChangeId(change_id)).change
    short = SignoffLinks(links(runtime).signer, "http://portal.test", timedelta(seconds=-1))
    token = short.token(change, "acme", "ops@acme.example.com", Decision.APPROVE)
    page = anonymous.get(f"/signoff/{token}")
    assert page.status_code == 410
    assert "expired" in page.text
    assert signoff_keys(runtime, change_id) == []


def test_a_post_without_the_confirm_pages_nonce_records_nothing(
    runtime: Runtime, client: TestClient, anonymous: TestClient
) -> None:
    change_id = submitted_change(client, customers=["acme"], **window("2030-05-05"))
    token = token_for(runtime, change_id, "ops@acme.example.com", Decision.APPROVE)
    other = token_for(runtime, change_id, "lead@acme.example.com", Decision.APPROVE)
    other_page = anonymous.get(f"/signoff/{other}")
    stolen = NONCE.search(other_page.text)
    assert stolen is not None
    for nonce in ("", stolen.group(1)):  # none, or one made for another link
        refused = anonymous.post(f"/signoff/{token}", data={"nonce": nonce})
        assert refused.status_code == 422
        assert "confirm from the page the link opens" in refused.text.lower()
    assert signoff_keys(runtime, change_id) == []


def test_approval_waits_for_every_customers_signoff(
    runtime: Runtime, client: TestClient, anonymous: TestClient
) -> None:
    change_id = submitted_change(client, customers=["acme", "globex"], **window("2030-05-06"))
    refused = client.post(f"/api/changes/{change_id}/approve", headers=JSON)
    assert refused.status_code == 409
    findings = refused.json()["error"]["findings"]
    assert {(f["gate"], f["customerCode"]) for f in findings} == {
        ("signoff", "acme"),
        ("signoff", "globex"),
    }
    change = runtime.archive.get_latest(ChangeId(change_id)).change
    for code, who in (("acme", "ops@acme.example.com"), ("globex", "ops@globex.example.com")):
        token = links(runtime).token(change, code, who, Decision.APPROVE)
        assert confirm(anonymous, token).status_code == 200
    approvals = client.get("/approvals").text
    summary = approvals.split(f'data-change="{change_id}"')[1].split("</span></span>")[0]
    assert "acme: signed off" in summary and "globex: signed off" in summary
    approved = client.post(f"/api/changes/{change_id}/approve", headers=JSON)
    assert approved.status_code == 200, approved.text
    assert approved.json()["change"]["status"] == "approved"


def test_the_approvals_page_shows_each_customers_answer(
    runtime: Runtime, client: TestClient, anonymous: TestClient
) -> None:
    change_id = submitted_change(client, customers=["acme", "globex"], **window("2030-05-07"))
    change = runtime.archive.get_latest(ChangeId(change_id)).change
    token = links(runtime).token(change, "globex", "ops@globex.example.com", Decision.REJECT)
    assert confirm(anonymous, token, comment="not this week").status_code == 200
    page = client.get("/approvals").text
    summary = page.split(f'data-change="{change_id}"')[1].split("</span></span>")[0]
    assert "acme: no answer" in summary
    assert "globex: rejected" in summary


def test_a_blackout_blocks_submit_until_overridden_and_the_override_is_audited(
    runtime: Runtime, client: TestClient
) -> None:
    change_id = api_change(client, customers=["acme"], **window("2031-06-03"))
    refused = client.post(f"/api/changes/{change_id}/submit", headers=JSON)
    assert refused.status_code == 409, refused.text
    findings = refused.json()["error"]["findings"]
    assert [(f["gate"], f["blocking"]) for f in findings if f["gate"] == "blackout"] == [
        ("blackout", True)
    ]
    assert "June freeze" in findings[0]["message"]
    preview = client.get(f"/changes/{change_id}/preview").text
    assert 'data-gate="blackout"' in preview and "June freeze" in preview
    body = {"overrides": {"blackout": "CAB-42 allows this one"}}
    submitted = client.post(f"/api/changes/{change_id}/submit", json=body, headers=JSON)
    assert submitted.status_code == 200, submitted.text
    latest = runtime.archive.get_latest(ChangeId(change_id)).change
    assert [(o.gate, o.reason) for o in latest.overrides] == [
        ("blackout", "CAB-42 allows this one")
    ]
    events = runtime.audit_index.find(AuditQuery(change_id=change_id, action=AuditAction.SUBMIT))
    assert any("CAB-42 allows this one" in str(e.detail) for e in events.items)
    deliver_queue(runtime, "acme")
    request = [m for m in read_outbox(runtime, "acme") if "CAB-42 allows this one" in m.body]
    assert request, "the approval request shows the override"


def test_overlapping_changes_are_named_in_the_preview_and_the_approval_request(
    runtime: Runtime, client: TestClient
) -> None:
    first = submitted_change(
        client, customers=["acme"], title="Patch the databases", **window("2030-07-01")
    )
    second = api_change(
        client, customers=["acme"], title="Rotate edge certificates", **window("2030-07-01", 11)
    )
    preview = client.get(f"/changes/{second}/preview").text
    assert 'data-gate="conflict"' in preview
    assert "Patch the databases" in preview and first in preview
    submitted = client.post(f"/api/changes/{second}/submit", headers=JSON)
    assert submitted.status_code == 200, submitted.text  # a conflict never blocks
    deliver_queue(runtime, "acme")
    mails = [html.unescape(m.body) for m in read_outbox(runtime, "acme")]
    named = [b for b in mails if "Rotate edge certificates" in b and "Patch the databases" in b]
    assert named, "the second change's approval request names the first"


def test_the_calendar_feed_lists_approved_changes_and_refuses_a_wrong_token(
    runtime: Runtime, client: TestClient, anonymous: TestClient
) -> None:
    body = change_body(customers=["initech"], title="Feed me", **window("2030-08-01"))
    created = client.post("/api/changes", json=body, headers=JSON)
    change_id = created.json()["changeId"]
    assert client.post(f"/api/changes/{change_id}/submit", headers=JSON).status_code == 200
    change = runtime.archive.get_latest(ChangeId(change_id)).change
    token = links(runtime).token(change, "initech", "ops@initech.example.com", Decision.APPROVE)
    assert confirm(anonymous, token).status_code == 200
    assert client.post(f"/api/changes/{change_id}/approve", headers=JSON).status_code == 200

    profile = client.get("/profile").text
    found = re.search(r'href="webcal://portal\.test(/calendar/initech\.ics\?token=[^"]+)"', profile)
    assert found is not None
    url = html.unescape(found.group(1))
    feed = anonymous.get(url)
    assert feed.status_code == 200
    assert feed.headers["content-type"].startswith("text/calendar")
    events = icalendar.Calendar.from_ical(feed.content).walk("VEVENT")
    mine = [e for e in events if str(e["UID"]).startswith(change_id)]
    assert [(str(e["STATUS"]), int(str(e["SEQUENCE"]))) for e in mine] == [("CONFIRMED", 1)]
    assert f"webcal://portal.test{url}" in html.unescape(client.get(f"/changes/{change_id}").text)

    assert anonymous.get(url.replace("token=", "token=x")).status_code == 404
    assert anonymous.get("/calendar/initech.ics").status_code == 404
    assert anonymous.get("/calendar/no-such.ics?token=abc").status_code == 404

    cancelled = client.post(f"/api/changes/{change_id}/cancel", headers=JSON)
    assert cancelled.status_code == 200, cancelled.text
    again = icalendar.Calendar.from_ical(anonymous.get(url).content).walk("VEVENT")
    mine = [e for e in again if str(e["UID"]).startswith(change_id)]
    assert [(str(e["STATUS"]), int(str(e["SEQUENCE"]))) for e in mine] == [("CANCELLED", 2)]
    assert str(mine[0]["UID"]) == f"{change_id}-initech@{runtime.config.email_config.domain}"


def test_the_submit_page_refuses_a_blackout_and_takes_an_override_reason(
    runtime: Runtime, client: TestClient
) -> None:
    change_id = api_change(client, customers=["acme"], **window("2031-06-04"))
    refused = client.post(f"/changes/{change_id}/submit", data={})
    assert refused.status_code == 409
    assert "June freeze" in refused.text and 'name="override_blackout"' in refused.text
    assert runtime.archive.store.exists(f"drafts/{change_id}.json")
    done = client.post(f"/changes/{change_id}/submit", data={"override_blackout": "CAB-43"})
    assert done.status_code == 200, done.text
    latest = runtime.archive.get_latest(ChangeId(change_id)).change
    assert [(o.gate, o.reason, o.by) for o in latest.overrides] == [
        ("blackout", "CAB-43", "manager@ccoe.example.com")
    ]


def test_a_link_signed_before_sealing_still_answers_and_names_its_recipient(
    runtime: Runtime, client: TestClient, anonymous: TestClient
) -> None:
    change_id = submitted_change(client, customers=["acme"], **window("2030-05-09"))
    change = runtime.archive.get_latest(ChangeId(change_id)).change
    secret = link_secret(runtime.settings)
    assert secret is not None
    fields = {"c": change_id, "v": "1", "k": "acme", "r": "ops@acme.example.com", "d": "approve"}
    expires = change.modified_at + timedelta(hours=runtime.settings.links.signoff_hours)
    old = legacy_token(fields, expires, secret=secret)  # readable payload, HMAC: the old way
    assert "." in old
    page = anonymous.get(f"/signoff/{old}")
    assert page.status_code == 200, page.text
    done = confirm(anonymous, old)
    assert done.status_code == 200, done.text
    view = client.get(f"/changes/{change_id}").text.split('id="signoffs"')[1]
    assert "ops@acme.example.com" in view.split("</section>")[0]
    new = token_for(runtime, change_id, "ops@acme.example.com", Decision.APPROVE)
    assert "." not in new and "ops" not in new


def test_a_signoff_comment_with_control_characters_is_refused_and_records_nothing(
    runtime: Runtime, client: TestClient, anonymous: TestClient
) -> None:
    change_id = submitted_change(client, customers=["acme"], **window("2030-05-06"))
    token = token_for(runtime, change_id, "ops@acme.example.com", Decision.APPROVE)
    forged = "ok\r\nApprove for acme: https://evil.test/approve"
    hostile = (forged, "ok\nx", "a\x00b", "a\x1b[31mb", "a\u202eb", "a\u2069b", "ok\r\n", "\x1fok")
    for comment in hostile:
        refused = confirm(anonymous, token, comment=comment)
        assert refused.status_code == 422, (comment, refused.text)
        assert "must be one line without control characters" in html.unescape(refused.text)
    assert signoff_keys(runtime, change_id) == []
    assert confirm(anonymous, token, comment="Fine by us").status_code == 200

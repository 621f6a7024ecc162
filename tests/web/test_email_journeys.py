"""What customers read, end to end on moto: portal and API actions, the worker, the raw mail.

A cancel reason typed in the portal reaches the cancellation email (and the form says it will);
an edit of only "Expected customer impact" is listed in the "[Updated]" email; invites name
aws-calendar in their footer; no raw message holds a bare LF.
"""

from __future__ import annotations

import email
import html
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from changecast.bootstrap import Runtime
from changecast.local.outbox import OutboxItem, read_outbox
from tests.builders import change_body
from tests.web.test_pages_support import browser, deliver_queue, module_runtime, sign_in

JSON = {"accept": "*/*"}
BARE_LF = re.compile(r"(?<!\r)\n")


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    yield from module_runtime(tmp_path_factory)


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with browser(runtime) as test_client:
        sign_in(test_client)
        yield test_client


def approved_change(client: TestClient, runtime: Runtime, title: str) -> str:
    made = client.post(
        "/api/changes", json=change_body(customers=["acme"], title=title), headers=JSON
    )
    assert made.status_code == 201, made.text
    change_id = str(made.json()["changeId"])
    for action in ("submit", "approve"):
        done = client.post(f"/api/changes/{change_id}/{action}", headers=JSON)
        assert done.status_code == 200, done.text
    deliver_queue(runtime, "acme")
    return change_id


def sent_since(runtime: Runtime, before: int, change_id: str) -> list[OutboxItem]:
    return [m for m in read_outbox(runtime, "acme")[before:] if change_id in m.body]


def plain(body: str) -> str:
    """An HTML part as a reader sees it: tags dropped, entities decoded, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def text_parts(raw: str) -> str:
    message = email.message_from_string(raw)
    found = []
    for part in message.walk():
        if part.get_content_type() in {"text/plain", "text/html"}:
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            found.append(payload.decode())
    return "\n".join(found)


def test_the_cancel_reason_typed_in_the_portal_reaches_customers(
    client: TestClient, runtime: Runtime
) -> None:
    change_id = approved_change(client, runtime, "Patch the load balancers")
    page = client.get(f"/changes/{change_id}").text
    form = page.split(f'action="/changes/{change_id}/actions/cancel"')[1].split("</form>")[0]
    assert "Customers receive it in the cancellation email" in form
    before = len(read_outbox(runtime, "acme"))
    reason = "The vendor moved the firmware release to next quarter."
    done = client.post(f"/changes/{change_id}/actions/cancel", data={"comment": reason})
    assert done.status_code in {200, 303}, done.text
    deliver_queue(runtime, "acme")
    sent = sent_since(runtime, before, change_id)
    emails = [m for m in sent if m.subject.startswith("[Cancelled]")]
    invites = [m for m in sent if m.has_invite]
    assert emails and invites
    for mail in emails:  # moto keeps the HTML part of a simple email
        assert f"Why it was cancelled: {reason}" in plain(mail.body)
    for invite in invites:
        assert invite.invite is not None and invite.invite.method == "CANCEL"
        parts = text_parts(invite.body)
        assert reason in parts
        assert "subscribed to aws-calendar" in parts
        assert "aws-announce" not in parts
        assert BARE_LF.search(invite.body) is None


def test_an_edit_of_only_the_expected_impact_is_listed_in_the_updated_email(
    client: TestClient, runtime: Runtime
) -> None:
    title = "Resize the bastion hosts"
    change_id = approved_change(client, runtime, title)
    document = change_body(customers=["acme"], title=title)
    document["changeMetadata"]["expectedCustomerImpact"] = "SSH sessions drop once, for a minute."
    edited = client.put(f"/api/changes/{change_id}", json={"version": 1, **document}, headers=JSON)
    assert edited.status_code == 200, edited.text
    deliver_queue(runtime, "acme")
    preview = client.get(f"/changes/{change_id}/preview").text  # by default: the update
    shown = html.unescape(
        preview.split('<pre class="email-text"')[1].split(">", 1)[1].split("</pre>")[0]
    )
    assert "Expected customer impact: [-None.-] {+SSH sessions drop once, for a minute.+}" in shown
    before = len(read_outbox(runtime, "acme"))
    approved = client.post(f"/api/changes/{change_id}/approve", headers=JSON)
    assert approved.status_code == 200, approved.text
    deliver_queue(runtime, "acme")
    updated = [m for m in sent_since(runtime, before, change_id) if "[Updated]" in m.subject]
    assert updated
    for mail in updated:  # moto keeps the HTML part of a simple email
        assert "What changed since version 1" in mail.body
        table = mail.body.split("What changed since version 1")[1].split("</table>")[0]
        assert re.search(r"<del[^>]*>None\.</del>", table)
        assert re.search(r"<ins[^>]*>SSH sessions drop once, for a minute\.</ins>", table)
        rows = re.findall(r'<tr><th align="left"[^>]*>([^<]+)</th>', table)
        assert rows == ["&nbsp;", "Expected customer impact"]  # the header row, then one field
    assert not [m for m in sent_since(runtime, before, change_id) if m.has_invite]


def test_the_updated_emails_diff_link_opens_the_portals_diff_of_those_two_versions(
    client: TestClient, runtime: Runtime
) -> None:
    title = "Rotate the VPN keys"
    change_id = approved_change(client, runtime, title)
    document = change_body(customers=["acme"], title=title)
    for version, rollback in ((1, "Restore the old keys."), (2, "Restore the old keys, then")):
        document["changeMetadata"]["rollbackPlan"] = rollback
        edited = client.put(
            f"/api/changes/{change_id}", json={"version": version, **document}, headers=JSON
        )
        assert edited.status_code == 200, edited.text
    before = len(read_outbox(runtime, "acme"))
    assert client.post(f"/api/changes/{change_id}/approve", headers=JSON).status_code == 200
    deliver_queue(runtime, "acme")
    (mail, *_) = [m for m in sent_since(runtime, before, change_id) if "[Updated]" in m.subject]
    link = f"/changes/{change_id}?compare=1&amp;to=3#diff"
    assert link in mail.body
    page = client.get(html.unescape(link).split("#")[0]).text
    diff = page.split('id="diff"')[1]
    assert "Version 1 ↔ version 3" in diff
    assert "Restore the old keys, then" in diff.split("</table>")[0]

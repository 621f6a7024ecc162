"""Issue 17's acceptance on the real ``local up``: a FinOps announcement, and a survey."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.builders import change_body
from tests.builders_announcements import HOSTILE_MARKDOWN, announcement_body
from tests.e2e.test_delivery_e2e import Portal, eventually, mine, running_portal

pytestmark = pytest.mark.e2e
TOKEN = re.compile(r"/survey/([A-Za-z0-9_.-]+)")
NONCE = re.compile(r'name="nonce" value="([^"]+)"')
HREF = re.compile(r'href=3D"([^"]*)"|href="([^"]*)"')


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    yield from running_portal(tmp_path_factory, "announcements")


def sent(portal: Portal, code: str, change_id: str, subject: str) -> list[dict[str, Any]]:
    return [i for i in mine(portal.outbox(code), change_id) if i["subject"].startswith(subject)]


def test_a_finops_announcement_reaches_only_finops_subscribers_and_is_searchable(
    portal: Portal,
) -> None:
    body = announcement_body(
        title="Savings plan renewal", customers=["acme", "initech"], body=HOSTILE_MARKDOWN
    )
    created = portal.http.post("/api/changes", json=body)
    assert created.status_code == 201, created.text
    change_id = created.json()["changeId"]
    portal.act(change_id, "submit")
    portal.act(change_id, "approve")
    for code in ("acme", "initech"):

        def published_to(code: str = code) -> list[dict[str, Any]] | None:
            found = sent(portal, code, change_id, "[Published]")
            # the outbox learns a message's topic from the ledger, written just after the send
            return found if found and all(i["topic"] for i in found) else None

        published = eventually(published_to)
        assert [(i["topic"], i["recipients"]) for i in published] == [
            ("finops-announce", [f"finance-watcher@{code}.example.com"])
        ]
        assert "<script" not in published[0]["body"].replace("&lt;script&gt;", "")
        links = [h for pair in HREF.findall(published[0]["body"]) for h in pair if h]
        assert "https://finops.example.com/guide" in links  # the check below sees the links
        assert not [h for h in links if h.lower().startswith("javascript:")]
    found = portal.http.get("/api/changes/search", params={"q": "savings plan renewal"})
    assert change_id in [i["changeId"] for i in found.json()["items"]]


def test_completing_a_change_sends_survey_links_that_answer_once(portal: Portal) -> None:
    created = portal.http.post("/api/changes", json=change_body(customers=["acme"]))
    change_id = created.json()["changeId"]
    for action in ("submit", "approve", "complete"):
        portal.act(change_id, action)

    def finished() -> bool | None:
        answer = portal.http.get(f"/api/changes/{change_id}/deliveries")
        (acme,) = answer.json()["customers"]
        done = [i for i in acme["current"] if i["record"] and i["event"] == "completed"]
        return True if done and done[0]["record"]["status"] else None

    eventually(finished)  # the completed run is over: its mail is all in the outbox

    def both() -> tuple[list[dict[str, Any]], list[dict[str, Any]]] | None:
        completed = sent(portal, "acme", change_id, "[Completed]")
        surveys = sent(portal, "acme", change_id, "[How did it go?]")
        people = sorted(r for i in completed for r in i["recipients"])
        asked = sorted(r for i in surveys for r in i["recipients"])
        return (completed, surveys) if people and people == asked else None

    completed, surveys = eventually(both)
    assert completed and surveys
    token = TOKEN.findall(html.unescape(surveys[0]["body"]))[0]
    with httpx.Client(base_url=str(portal.http.base_url), timeout=30) as anonymous:
        form = anonymous.get(f"/survey/{token}")
        assert form.status_code == 200
        nonce = NONCE.search(form.text)
        assert nonce is not None
        answer = {"nonce": nonce.group(1), "rating": "5", "comment": "Went well"}
        posted = anonymous.post(f"/survey/{token}", data=answer)  # post/redirect/get
        assert posted.status_code == 303
        assert posted.headers["location"] == f"/survey/{token}?answered=1"
        assert anonymous.get(posted.headers["location"]).status_code == 200
        second = anonymous.post(f"/survey/{token}", data=answer)
        assert second.status_code == 409 and "You already answered" in second.text
        bad = anonymous.get(f"/survey/{token[:-2]}xx")
        assert bad.status_code == 404 and "This link is not valid" in bad.text
    view = portal.http.get(f"/changes/{change_id}", headers={"accept": "text/html"})
    results = view.text.split('id="surveys"', 1)[1].split("</section>", 1)[0]
    assert 'data-customer="acme"' in results and "5.00" in results and "Went well" in results

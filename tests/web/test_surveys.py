"""Post-change surveys on moto: completing sends one link per announcement recipient; answers.

The link is answered without signing in and without JavaScript; a second answer, a tampered
and an expired link get a clear page; the change view, CSV and dashboard show the results.
"""

from __future__ import annotations

import base64
import csv
import dataclasses
import html
import io
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from changecast.access.links import LinkInvalidError, recipient_hash
from changecast.access.survey import SurveyLinks
from changecast.actions.rebuild import rebuild_index
from changecast.bootstrap import Runtime
from changecast.delivery.pacing import TokenBucket
from changecast.ids import ChangeId
from changecast.index.engine import drop_schema, open_index
from changecast.index.surveys import SqlSurveyIndex
from changecast.layout import survey_key, survey_prefix
from changecast.local.outbox import OutboxItem, read_outbox
from changecast.workers.processing import CustomerProcessor
from changecast.workers.wiring import build_worker
from tests.web.test_pages_support import browser, deliver_queue, module_runtime, sign_in

JSON = {"accept": "*/*"}
TOKEN = re.compile(r"/survey/([A-Za-z0-9_.-]+)")
NONCE = re.compile(r'name="nonce" value="([^"]+)"')


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    yield from module_runtime(tmp_path_factory)


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with browser(runtime) as test_client:
        sign_in(test_client)
        yield test_client


@pytest.fixture
def anonymous(runtime: Runtime) -> Iterator[TestClient]:
    with browser(runtime) as test_client:
        yield test_client


def completed_change(client: TestClient, customers: list[str], title: str) -> str:
    body = {
        "changeMetadata": {
            "title": title,
            "customerCodes": customers,
            "schedule": {
                "implementationStart": "2030-06-01T10:00",
                "implementationEnd": "2030-06-01T12:00",
                "timezone": "UTC",
            },
        }
    }
    made = client.post("/api/changes", json=body, headers=JSON)
    assert made.status_code == 201, made.text
    change_id = str(made.json()["changeId"])
    for action in ("submit", "approve", "complete"):
        done = client.post(f"/api/changes/{change_id}/{action}", headers=JSON)
        assert done.status_code == 200, done.text
    return change_id


def surveys_sent(runtime: Runtime, code: str, change_id: str, since: int) -> list[OutboxItem]:
    return [
        m
        for m in read_outbox(runtime, code)[since:]
        if change_id in m.body and m.subject.startswith("[How did it go?]")
    ]


def token_of(mail: OutboxItem) -> str:
    found = TOKEN.findall(html.unescape(mail.body))
    assert found, "the survey email carries the recipient's link"
    assert len(set(found)) == 1  # one link, in the HTML and the text part
    return str(found[0])


def answer(anonymous: TestClient, token: str, rating: str, comment: str = "") -> Any:
    page = anonymous.get(f"/survey/{token}")
    assert page.status_code == 200, page.text
    nonce = NONCE.search(page.text)
    assert nonce is not None
    posted = anonymous.post(
        f"/survey/{token}", data={"nonce": nonce.group(1), "rating": rating, "comment": comment}
    )
    if posted.status_code != 303:
        return posted
    # post/redirect/get: the thank-you page is a GET, and reloading it says the same
    assert posted.headers["location"] == f"/survey/{token}?answered=1"
    shown = anonymous.get(posted.headers["location"])
    assert anonymous.get(posted.headers["location"]).text == shown.text
    return shown


def test_completing_sends_one_link_per_recipient_and_each_answers_once(
    runtime: Runtime, client: TestClient, anonymous: TestClient
) -> None:
    before = len(read_outbox(runtime, "acme"))
    change_id = completed_change(client, ["acme"], "Patch the bastion hosts")
    deliver_queue(runtime, "acme")
    mails = surveys_sent(runtime, "acme", change_id, before)
    completion = [
        m
        for m in read_outbox(runtime, "acme")[before:]
        if change_id in m.body and m.subject.startswith("[Completed]")
    ]
    announced = sorted(r for m in completion for r in m.recipients)
    assert len(announced) >= 2  # the announcement recipients: aws-announce subscribers
    assert sorted(r for m in mails for r in m.recipients) == announced
    assert all(len(m.recipients) == 1 for m in mails)
    assert {m.topic for m in mails} == {"aws-announce"}
    tokens = {m.recipients[0]: token_of(m) for m in mails}
    assert len(set(tokens.values())) == len(tokens)  # each recipient has their own link
    for address, token in tokens.items():  # an opaque reference, not the address
        decoded = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        assert address.split("@")[0].encode() not in decoded
        assert address.split("@")[0] not in token

    form = anonymous.get(f"/survey/{tokens['ops-lead@acme.example.com']}")
    assert form.status_code == 200
    assert "<script" not in form.text.split("<main", 1)[-1].split("</main>", 1)[0]
    assert 'type="radio" name="rating" value="5"' in form.text
    assert list(runtime.store.list_keys(survey_prefix(change_id))) == []  # a GET records nothing

    done = answer(anonymous, tokens["ops-lead@acme.example.com"], "4", "Smooth <b>night</b>")
    assert done.status_code == 200, done.text
    assert "Recorded: 4 of 5" in done.text
    assert "Smooth &lt;b&gt;night&lt;/b&gt;" in done.text
    key = survey_key(change_id, "acme", recipient_hash("ops-lead@acme.example.com"))
    stored = runtime.store.get(key).body.decode()
    assert '"rating":4' in stored and "ops-lead" not in stored  # the address is only hashed

    again = anonymous.get(f"/survey/{tokens['ops-lead@acme.example.com']}")
    assert again.status_code == 409
    assert "You already answered this survey" in again.text
    replay = anonymous.post(
        f"/survey/{tokens['ops-lead@acme.example.com']}", data={"nonce": "x", "rating": "1"}
    )
    assert replay.status_code == 409
    assert '"rating":4' in runtime.store.get(key).body.decode()  # unchanged

    assert answer(anonymous, tokens[announced[-1]], "2").status_code == 200
    view = client.get(f"/changes/{change_id}")
    results = view.text.split('id="surveys"', 1)[1].split("</section>", 1)[0]
    assert re.search(r'data-customer="acme">.*?>2<.*?>3\.00<', results, re.S)
    assert "Smooth &lt;b&gt;night&lt;/b&gt;" in results
    exported = client.get(f"/changes/{change_id}/surveys.csv")
    assert exported.status_code == 200
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert sorted(r["rating"] for r in rows) == ["2", "4"]
    assert {r["customerCode"] for r in rows} == {"acme"}
    dashboard = client.get("/")
    card = dashboard.text.split('id="survey-averages"', 1)[1].split("</section>", 1)[0]
    assert re.search(r'data-customer="acme"><td>acme</td><td>\d+</td><td>\d\.\d\d</td>', card)


def test_tampered_expired_and_bad_answers_get_clear_pages(
    runtime: Runtime, client: TestClient, anonymous: TestClient
) -> None:
    before = len(read_outbox(runtime, "acme"))
    change_id = completed_change(client, ["acme"], "Rotate the NAT gateways")
    deliver_queue(runtime, "acme")
    token = token_of(surveys_sent(runtime, "acme", change_id, before)[0])
    flipped = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    tampered = anonymous.get(f"/survey/{flipped}")
    assert tampered.status_code == 404
    assert "This link is not valid" in tampered.text

    links = runtime.survey_links
    assert links is not None
    change = runtime.archive.get_latest(ChangeId(change_id)).change
    old = dataclasses.replace(links, ttl=-timedelta(days=1))
    expired = anonymous.get(f"/survey/{old.token(change, 'acme', 'ops-lead@acme.example.com')}")
    assert expired.status_code == 410
    assert "This survey link has expired" in expired.text

    page = anonymous.get(f"/survey/{token}")
    nonce = NONCE.search(page.text)
    assert nonce is not None
    no_rating = anonymous.post(f"/survey/{token}", data={"nonce": nonce.group(1), "rating": "9"})
    assert no_rating.status_code == 422
    assert "Choose a rating from 1 (bad) to 5 (very good)" in no_rating.text
    for rating in ("\u00b2", "\u0665", "\uff15", "5\x00", "-1", "5.0", ""):  # not 1-5
        odd = anonymous.post(f"/survey/{token}", data={"nonce": nonce.group(1), "rating": rating})
        assert odd.status_code == 422, (rating, odd.text)
        assert "Choose a rating from 1 (bad) to 5 (very good)" in odd.text
    forged = anonymous.post(f"/survey/{token}", data={"nonce": "forged", "rating": "5"})
    assert forged.status_code == 422
    assert list(runtime.store.list_keys(survey_prefix(change_id))) == []


def test_a_customer_with_surveys_off_gets_the_completion_but_no_survey(
    runtime: Runtime, client: TestClient
) -> None:
    before = len(read_outbox(runtime, "initech"))
    change_id = completed_change(client, ["initech"], "Retire the old VPN")
    worker = build_worker(runtime, "initech", wait_seconds=0)
    assert isinstance(worker.processor, CustomerProcessor)
    deps = worker.processor.deps
    deps.bucket = TokenBucket(10_000)
    deps.customer = deps.customer.model_copy(update={"surveys": False})  # config.json: false
    while worker.poll_once():
        pass
    sent = [m for m in read_outbox(runtime, "initech")[before:] if change_id in m.body]
    assert any(m.subject.startswith("[Completed]") for m in sent)
    assert not [m for m in sent if m.subject.startswith("[How did it go?]")]
    rows = {r.event.value: r for r in runtime.deliveries.for_change(change_id)}
    assert rows["survey"].recipients == 0 and rows["survey"].sent == 0


def test_survey_links_are_not_sign_off_links(runtime: Runtime) -> None:
    links = runtime.survey_links
    signoff = runtime.signoff_links
    assert isinstance(links, SurveyLinks) and signoff is not None
    change_id = "11111111-2222-4333-8444-555555555555"
    fields = {"c": change_id, "k": "acme", "r": "a@b.c"}  # a survey's fields, signed for sign-off
    forged = signoff.signer.sign(
        "signoff", fields, expires_at=runtime.clock.now() + timedelta(days=1)
    )
    with pytest.raises(LinkInvalidError):
        links.read(forged, now=runtime.clock.now())


def test_index_rebuild_restores_the_answers_from_s3(
    runtime: Runtime, client: TestClient, anonymous: TestClient, tmp_path: Path
) -> None:
    before = len(read_outbox(runtime, "acme"))
    change_id = completed_change(client, ["acme"], "Renew the wildcard certificate")
    deliver_queue(runtime, "acme")
    token = token_of(surveys_sent(runtime, "acme", change_id, before)[0])
    assert answer(anonymous, token, "3", "ok").status_code == 200
    fresh = open_index(f"sqlite:///{tmp_path / 'rebuilt.db'}")
    try:
        report = rebuild_index(
            archive=runtime.archive,
            store=runtime.store,
            index=fresh,
            surveys=SqlSurveyIndex(fresh.engine),
        )
        assert report.errors == []
        restored = SqlSurveyIndex(fresh.engine).for_change(change_id)
        assert [(a.customer_code, a.rating, a.comment) for a in restored] == [("acme", 3, "ok")]
    finally:
        fresh.close()


HOSTILE_COMMENTS = ["ok\x00", "ok\x1b[31m", "ok\u202e", "ok\u2066x", "ok\r\nx", "ok\nx", "ok\rx"]
HOSTILE_COMMENTS += ["ok\r\n", "ok\n", "\x1bok", "ok\x1f", "ok\u2028"]  # at either end too


def test_a_survey_comment_with_control_characters_is_refused_and_nothing_is_kept(
    runtime: Runtime, client: TestClient, anonymous: TestClient
) -> None:
    before = len(read_outbox(runtime, "acme"))
    change_id = completed_change(client, ["acme"], "Rotate the bastion host keys")
    deliver_queue(runtime, "acme")
    token = token_of(surveys_sent(runtime, "acme", change_id, before)[0])
    for comment in HOSTILE_COMMENTS:
        refused = answer(anonymous, token, "4", comment)
        assert refused.status_code == 422, comment
        assert "must be one line without control characters" in html.unescape(refused.text)
    assert list(runtime.store.list_keys(survey_prefix(change_id))) == []
    assert answer(anonymous, token, "4", "all fine\ttoo").status_code == 422  # TAB: one line
    assert answer(anonymous, token, "4", "all fine").status_code == 200


def test_index_rebuild_on_postgresql_loads_and_names_hostile_documents_in_s3(
    runtime: Runtime, client: TestClient, anonymous: TestClient
) -> None:
    """Objects written to S3 before the input rule (or by another tool) hold NUL: PostgreSQL's
    text cannot store it. The rebuild succeeds, indexes them without it and names them."""
    import json
    import uuid

    from changecast.layout import latest_key
    from tests.contract.conftest import POSTGRES_URL

    before = len(read_outbox(runtime, "acme"))
    change_id = completed_change(client, ["acme"], "Patch the jump hosts")
    deliver_queue(runtime, "acme")
    token = token_of(surveys_sent(runtime, "acme", change_id, before)[0])
    assert answer(anonymous, token, "5", "smooth").status_code == 200
    hostile_answer = survey_key(
        ChangeId(change_id), "acme", recipient_hash("evil@acme.example.com")
    )
    runtime.store.put(
        hostile_answer,
        json.dumps(
            {
                "change_id": change_id,
                "customer_code": "acme",
                "recipient_hash": recipient_hash("evil@acme.example.com"),
                "rating": 1,
                "comment": "bad\u0000\u0000 one",
                "answered_at": "2030-06-02T10:00:00Z",
            }
        ).encode(),
    )
    latest = latest_key(change_id)
    document = json.loads(runtime.store.get(latest).body)
    document["changeMetadata"]["implementationPlan"] = "step one\u0000step two"
    runtime.store.put(latest, json.dumps(document).encode())
    broken = latest_key(str(uuid.uuid4()))
    runtime.store.put(broken, b'{"changeId": "not a change"')

    schema = f"t_{uuid.uuid4().hex[:16]}"
    fresh = open_index(POSTGRES_URL, schema=schema)
    try:
        report = rebuild_index(
            archive=runtime.archive,
            store=runtime.store,
            index=fresh,
            surveys=SqlSurveyIndex(fresh.engine),
        )
        assert [p.key for p in report.errors] == [broken]
        assert sorted(p.key for p in report.cleaned) == sorted([latest, hostile_answer])
        assert all("NUL" in p.reason for p in report.cleaned)
        restored = SqlSurveyIndex(fresh.engine).for_change(change_id)
        assert sorted((a.rating, a.comment) for a in restored) == [(1, "bad one"), (5, "smooth")]
        indexed = fresh.document(change_id)
        assert indexed is not None
        assert indexed.change_metadata.implementation_plan == "step onestep two"
        assert runtime.store.get(latest).body.count(b"\\u0000") == 1  # S3 is left as it was
    finally:
        runtime.store.delete(broken)
        fresh.close()
        drop_schema(POSTGRES_URL, schema)

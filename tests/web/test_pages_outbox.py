"""Outbox (local mode only): each customer's sent emails, rendered, with invites to download."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from changecast.bootstrap import Runtime
from changecast.settings import Settings, WebSettings
from changecast.web.app import create_app
from tests.web.test_pages_support import (
    HTML,
    browser,
    deliver_queue,
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


def test_outbox_shows_each_sent_email_with_its_invite(client: TestClient, runtime: Runtime) -> None:
    change_id = submitted_change(client, customers=["acme"], title="Outbox window")
    deliver_queue(runtime, "acme")  # the approval request, while it awaits approval
    client.post(f"/api/changes/{change_id}/approve", headers={"accept": "*/*"})
    deliver_queue(runtime, "acme")
    page = client.get("/outbox?customer=acme")
    assert page.status_code == 200
    assert 'class="active" aria-current="page">Acme Corporation' in page.text
    subjects = re.findall(r'<strong class="outbox-subject">(.*?)</strong>', page.text)
    assert "[Approval requested] Change notification: Outbox window (version 1)" in subjects
    assert "[Approved] Change notification: Outbox window (version 1)" in subjects
    assert any(s.startswith("Invitation:") for s in subjects)
    assert '<span class="tag">aws-approval</span>' in page.text
    assert '<span class="tag">aws-calendar</span>' in page.text
    frames = re.findall(r'src="(/outbox/acme/[^"]+/message\.html)"', page.text)
    assert frames
    frame = client.get(frames[0])
    assert "Outbox window" in frame.text
    assert "default-src 'none'" in frame.headers["content-security-policy"]
    invites = re.findall(r'href="(/outbox/acme/[^"]+/invite\.ics)"', page.text)
    assert invites
    ics = client.get(invites[0])
    assert ics.headers["content-type"].startswith("text/calendar")
    assert b"METHOD:REQUEST" in ics.content


def test_outbox_shows_when_each_was_sent_and_filters_by_change(
    client: TestClient, runtime: Runtime
) -> None:
    first = submitted_change(client, customers=["acme"], title="Filter me first")
    second = submitted_change(client, customers=["acme"], title="Filter me second")
    deliver_queue(runtime, "acme")
    everything = client.get("/outbox?customer=acme").text
    assert f'<option value="{first}">' in everything and f'<option value="{second}">' in everything
    sent = re.findall(r'<dt>Sent</dt><dd><time datetime="(\d{4}-\d\d-\d\dT[\d:]{8}Z)">', everything)
    assert len(sent) == everything.count('class="card outbox-item"')
    one = client.get(f"/outbox?customer=acme&change={first}").text
    subjects = re.findall(r'<strong class="outbox-subject">(.*?)</strong>', one)
    assert subjects and all("Filter me first" in s for s in subjects)
    assert "Filter me second" not in "".join(subjects)
    assert '<span class="address">' in one  # an address wraps whole, never at its hyphen


def test_outbox_of_a_quiet_customer_says_nothing_was_sent(client: TestClient) -> None:
    page = client.get("/outbox?customer=initech").text
    assert "Nothing sent yet" in page


def test_outbox_does_not_exist_outside_local_mode(tmp_path: Path, runtime: Runtime) -> None:
    settings = Settings(
        mode="aws",
        data_dir=tmp_path,
        config=runtime.settings.config_path,
        database_url=f"sqlite:///{tmp_path / 'index.db'}",
        web=WebSettings(session_secret=SecretStr("s" * 48)),
    )
    with TestClient(create_app(Runtime(settings=settings)), headers=HTML) as aws:
        assert aws.get("/outbox").status_code == 404
        assert "/outbox" not in aws.get("/signin").text

"""Helpers shared by the page tests: a browser-like TestClient, signed in through dev-login."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from changecast.bootstrap import Runtime
from changecast.delivery.ledger import Channel, DeliveryKey
from changecast.delivery.outcomes import DeliveryOutcome, OutcomeMark, RecipientMark
from changecast.delivery.pacing import TokenBucket
from changecast.distribution.models import DistributionEvent
from changecast.settings import Settings
from changecast.web.app import create_app
from changecast.workers.processing import CustomerProcessor
from changecast.workers.wiring import build_worker
from tests.builders import change_body

HTML = {"accept": "text/html,application/xhtml+xml"}
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def fake_aws_env(env: pytest.MonkeyPatch, missing: Path) -> None:
    """Fake credentials and config files that do not exist (like the ``aws_env`` fixture)."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        env.setenv(name, "testing")
    env.setenv("AWS_DEFAULT_REGION", "us-east-1")
    env.setenv("AWS_CONFIG_FILE", str(missing))
    env.setenv("AWS_SHARED_CREDENTIALS_FILE", str(missing))
    env.delenv("AWS_PROFILE", raising=False)


def module_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    """Like the ``moto_runtime`` fixture, but built once per module (provisioning takes seconds).

    Tests sharing it must not depend on each other's data: each makes its own changes.
    """
    from moto import mock_aws

    from changecast.local import provision
    from changecast.local.demo import demo_config, demo_ses_config
    from changecast.local_runtime import LocalRuntime

    root: Path = tmp_path_factory.mktemp("portal")
    with pytest.MonkeyPatch.context() as env, mock_aws():
        fake_aws_env(env, root / "no-such-aws-config")
        config = demo_config(3, portal_url="http://portal.test")
        (root / "config.json").write_text(config.model_dump_json(), encoding="utf-8")
        settings = Settings(
            mode="local",
            data_dir=root,
            config=root / "config.json",
            database_url=f"sqlite:///{root / 'index.db'}",
            allow_self_approval=True,  # page tests approve their own changes; see test_four_eyes
        )
        runtime = Runtime(settings=settings)
        customers = provision.provision(runtime.aws, runtime.config, demo_ses_config())
        provision.configure_notifications(
            runtime.aws, runtime.config, provision.queue_arns(runtime.aws, customers)
        )
        runtime.local = LocalRuntime(
            aws_endpoint_url="",
            portal_url="http://portal.test",
            bucket=runtime.config.s3_config.bucket_name,
            hub_account_id="123456789012",
            customers=customers,
            pid=1,
        )
        yield runtime


def browser(runtime: Runtime, *, tz: str | None = "Europe/Paris") -> TestClient:
    """A client that asks for HTML like a browser and carries the timezone cookie of app.js."""
    client = TestClient(create_app(runtime), headers=HTML, follow_redirects=False)
    if tz:
        client.cookies.set("changecast_tz", quote(tz, safe=""))  # as app.js writes it
    return client


def sign_in(
    client: TestClient,
    email: str = "manager@ccoe.example.com",
    role: str = "ChangeManager",
    customers: str = "",
) -> None:
    response = client.post(
        "/auth/dev-login",
        data={"email": email, "role": role, "customers": customers, "next": "/"},
    )
    assert response.status_code == 303, response.text
    session = client.get("/api/session", headers={"accept": "application/json"})
    client.headers["X-CSRF-Token"] = session.json()["csrfToken"]  # as htmx's hx-headers sends it


def form_fields(**overrides: Any) -> dict[str, Any]:
    """The create form, filled like a user would (customers as a list of checkbox values)."""
    fields: dict[str, Any] = {
        "title": "Rotate TLS certificates",
        "customers": ["acme", "globex"],
        "service_now": "CHG0001",
        "jira": "CCOE-1",
        "start": "2030-03-01T10:00",
        "end": "2030-03-01T12:00",
        "timezone": "America/New_York",
        "change_reason": "Certificates expire soon.",
        "implementation_plan": "Swap listeners one by one.",
        "test_plan": "Handshake checks.",
        "expected_customer_impact": "None.",
        "rollback_plan": "Swap back.",
        "subject": "",
        "meeting": "on",
        "meeting_title": "TLS window",
        "meeting_location": "Teams",
        "meeting_start": "",
        "meeting_duration": "",
        "intent": "save",
    }
    fields.update(overrides)
    return fields


def create_draft(client: TestClient, **overrides: Any) -> str:
    response = client.post("/changes/new", data=form_fields(**overrides))
    assert response.status_code == 303, response.text
    found = UUID.search(response.headers["location"])
    assert found is not None
    return found.group(0)


def api_change(client: TestClient, **kwargs: Any) -> str:
    """A draft made through the JSON API (as another tool would)."""
    created = client.post("/api/changes", json=change_body(**kwargs), headers={"accept": "*/*"})
    assert created.status_code == 201, created.text
    return str(created.json()["changeId"])


def submitted_change(client: TestClient, **kwargs: Any) -> str:
    change_id = api_change(client, **kwargs)
    response = client.post(f"/api/changes/{change_id}/submit", headers={"accept": "*/*"})
    assert response.status_code == 200, response.text
    return change_id


def deliver_queue(runtime: Runtime, code: str) -> None:
    """What the customer's worker does in ``local up``: drain its queue once."""
    worker = build_worker(runtime, code, wait_seconds=0)
    assert isinstance(worker.processor, CustomerProcessor)
    worker.processor.deps.bucket = TokenBucket(10_000)
    while worker.poll_once():
        pass


def record_outcomes(
    runtime: Runtime,
    change_id: str,
    customer: str,
    *,
    event: DistributionEvent = DistributionEvent.SUBMITTED,
    **outcomes: int,
) -> None:
    """What the SES events worker writes to the read model: ``outcomes[name]`` recipients each."""
    delivery = DeliveryKey(customer, change_id, 1, event)
    at = datetime.now(UTC)
    runtime.deliveries.record_outcomes(
        [
            RecipientMark(
                delivery,
                Channel.EMAIL,
                f"{name}-{n}@{customer}.example.com",
                OutcomeMark(DeliveryOutcome(name), at, "simulated"),
            )
            for name, count in outcomes.items()
            for n in range(count)
        ]
    )

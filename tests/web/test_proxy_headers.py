"""X-Forwarded-For is believed only from the configured proxies: the audit trail records the peer.

The portal runs under a real uvicorn on 127.0.0.1 with the options ``changecast serve`` and
``local up`` use, because the trust (or not) is decided by uvicorn before our code sees the request.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
import uvicorn

from changecast.audit.models import AuditAction, AuditQuery
from changecast.bootstrap import Runtime
from changecast.proxies import proxy_options
from changecast.settings import WebSettings
from changecast.web.app import create_app
from tests.web.test_pages_support import module_runtime

runtime = pytest.fixture(scope="module")(module_runtime)

CLAIMED = "203.0.113.9"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(runtime: Runtime, web: WebSettings) -> Iterator[str]:
    port = _free_port()
    config = uvicorn.Config(
        create_app(runtime), host="127.0.0.1", port=port, log_level="warning", **proxy_options(web)
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def recorded_address(runtime: Runtime, base: str, email: str) -> str | None:
    answer = httpx.post(
        f"{base}/auth/dev-login",
        data={"email": email, "role": "ChangeManager"},
        headers={"X-Forwarded-For": CLAIMED, "X-Forwarded-Proto": "https"},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    events = runtime.audit_index.find(AuditQuery(actor=email, action=AuditAction.SIGN_IN)).items
    assert len(events) == 1
    return events[0].source_ip


def test_without_configured_proxies_no_forwarded_header_is_believed(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "*")  # uvicorn's own variable must not matter
    assert proxy_options(WebSettings()) == {"proxy_headers": False, "forwarded_allow_ips": []}
    with serving(runtime, WebSettings()) as base:
        assert recorded_address(runtime, base, "direct@ccoe.example.com") == "127.0.0.1"


def test_a_configured_proxy_names_the_client(runtime: Runtime) -> None:
    web = WebSettings(forwarded_allow_ips=["127.0.0.1"])
    with serving(runtime, web) as base:
        assert recorded_address(runtime, base, "proxied@ccoe.example.com") == CLAIMED


def test_a_proxy_outside_the_list_is_not_believed(runtime: Runtime) -> None:
    web = WebSettings(forwarded_allow_ips=["10.0.0.0/16"])
    with serving(runtime, web) as base:
        assert recorded_address(runtime, base, "spoofer@ccoe.example.com") == "127.0.0.1"

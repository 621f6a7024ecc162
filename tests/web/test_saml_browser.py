"""Debian chromium signs in through the in-process IdP: portal -> IdP -> ACS -> the page asked for.

The portal runs in AWS mode (no dev login) under uvicorn; the IdP is pysaml2 behind Starlette.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient
from pydantic import SecretStr

from changecast.local.system import free_port
from changecast.settings import WebSettings
from changecast.web.app import create_app
from changecast.web.auth.session import COOKIE_NAME
from tests.fakes.idp import FakeIdp, idp_web_app
from tests.web.identity_support import provisioned_runtime, saml_settings

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]


class ServerThread:
    """uvicorn serving one ASGI app on 127.0.0.1 in a daemon thread."""

    def __init__(self, app: Any, port: int) -> None:
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@dataclass
class Sites:
    portal: str
    idp_user: dict[str, Any]


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sites]:
    root: Path = tmp_path_factory.mktemp("saml-browser")
    portal_port, idp_port = free_port(), free_port()
    portal = f"http://127.0.0.1:{portal_port}"
    sso_url = f"http://127.0.0.1:{idp_port}/saml/sso"
    saml, (keys, wrong) = saml_settings(root / "keys", idp_sso_url=sso_url, idp_slo_url=None)
    web = WebSettings(session_secret=SecretStr("b" * 48), secure_cookies=False)
    with provisioned_runtime(root, portal=portal, mode="aws", saml=saml, web=web) as runtime:
        app = create_app(runtime)
        metadata = TestClient(app).get("/saml/metadata").text
        idp = FakeIdp(
            keys=keys,
            wrong_keys=wrong,
            sp_metadata=metadata,
            sp_entity_id=f"{portal}/saml/metadata",
            acs_url=f"{portal}/saml/acs",
            sso_url=sso_url,
        )
        user: dict[str, Any] = {"email": "alice@ccoe.example.com", "name": "Alice Example"}
        with ServerThread(app, portal_port), ServerThread(idp_web_app(idp, user), idp_port):
            yield Sites(portal=portal, idp_user=user)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: install Debian's chromium (apt)"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    opened.set_default_timeout(20_000)
    yield opened
    context.close()


def test_chromium_signs_in_through_the_idp_and_lands_on_the_page_it_asked_for(
    sites: Sites, page: Any
) -> None:
    sites.idp_user.clear()
    sites.idp_user.update(email="alice@ccoe.example.com", name="Alice Example")
    page.goto(sites.portal + "/search")
    page.wait_for_url(re.compile(r"/signin\?next="))
    assert page.locator("input[name=email]").count() == 0  # no dev login outside local mode
    page.click("#sso-signin")
    page.wait_for_url(re.compile(re.escape(sites.portal) + r"/search$"))
    assert "Alice Example" in page.inner_text("header")
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies[COOKIE_NAME]["httpOnly"] and cookies[COOKIE_NAME]["sameSite"] == "Lax"
    session = page.request.get(sites.portal + "/api/session").json()
    assert (session["email"], session["role"]) == ("alice@ccoe.example.com", "ChangeManager")
    page.click("header form[action='/signout'] button")
    page.wait_for_url(re.compile(r"/signin"))
    assert page.request.get(sites.portal + "/api/session").status == 401


def test_chromium_sees_a_refusal_when_the_idp_signs_with_another_key(
    sites: Sites, page: Any
) -> None:
    sites.idp_user.clear()
    sites.idp_user.update(email="mallory@ccoe.example.com", wrong_key=True)
    page.goto(sites.portal + "/saml/login?next=/")
    page.wait_for_url(re.compile(re.escape(sites.portal) + r"/saml/acs"))
    assert "sign-in refused" in page.content().lower()
    assert COOKIE_NAME not in {c["name"] for c in page.context.cookies()}

"""Debian chromium opens a sign-off link with no session: confirm page, answer, then "used".

The portal (local mode, in-process moto) runs under uvicorn; nothing here signs in.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from changecast.access.signoff import Decision, signoff_prefix
from changecast.bootstrap import Runtime
from changecast.ids import ChangeId
from changecast.local.system import free_port
from changecast.web.app import create_app
from tests.web import test_pages_support as pages
from tests.web.test_saml_browser import CHROMIUM, CHROMIUM_ARGS, ServerThread

pytestmark = pytest.mark.browser
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@dataclass
class Portal:
    base: str
    runtime: Runtime


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    for runtime in pages.module_runtime(tmp_path_factory):
        port = free_port()
        with ServerThread(create_app(runtime), port):
            yield Portal(base=f"http://127.0.0.1:{port}", runtime=runtime)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: install Debian's chromium (apt)"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": 390, "height": 844})  # a phone
    opened = context.new_page()
    opened.set_default_timeout(20_000)
    yield opened
    context.close()


def test_chromium_answers_a_signoff_link_once(portal: Portal, page: Any) -> None:
    runtime = portal.runtime
    with pages.browser(runtime) as client:
        pages.sign_in(client)
        change_id = pages.submitted_change(client, customers=["acme"])
    change = runtime.archive.get_latest(ChangeId(change_id)).change
    links = runtime.signoff_links
    assert links is not None
    token = links.token(change, "acme", "ops-lead@acme.example.com", Decision.APPROVE)
    problems: list[str] = []  # script errors and CSP refusals (a 409 page is not one)
    page.on(
        "console",
        lambda m: (
            problems.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    broken: list[str] = []  # stylesheet, scripts: every asset the page asks for loads
    page.on(
        "response",
        lambda r: broken.append(r.url) if "/static/" in r.url and r.status >= 400 else None,
    )

    page.goto(f"{portal.base}/signoff/{token}")
    assert page.inner_text("h1") == "Approve for Acme Corporation?"
    assert "ops-lead@acme.example.com" in page.inner_text(".signoff-recipient")
    assert page.inner_text(".signoff-version") == "version 1"
    assert list(runtime.store.list_keys(signoff_prefix(change_id, 1))) == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "signoff-phone.png"), full_page=True)

    page.fill("input[name=comment]", "Go ahead on Friday")
    page.click("#signoff-confirm")
    page.wait_for_selector("#signoff-done")
    assert "Go ahead on Friday" in page.inner_text("#signoff-done")
    assert len(list(runtime.store.list_keys(signoff_prefix(change_id, 1)))) == 1

    page.go_back()
    page.reload()
    assert page.get_attribute("#signoff-refused", "data-reason") == "used"
    assert "This link was already used" in page.inner_text("h1")
    assert problems == []
    assert broken == []

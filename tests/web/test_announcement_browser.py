"""Debian chromium shows an announcement with hostile Markdown: no script runs, no unsafe link.

The portal (local mode, in-process moto) runs under uvicorn; chromium signs in with dev login.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from changecast.bootstrap import Runtime
from changecast.local.system import free_port
from changecast.web.app import create_app
from tests.builders_announcements import HOSTILE_MARKDOWN, announcement_body
from tests.web import test_pages_support as pages
from tests.web.test_saml_browser import CHROMIUM, CHROMIUM_ARGS, ServerThread

pytestmark = pytest.mark.browser


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


BODY_PROBE = """() => {
  const body = document.querySelector('#announcement-body');
  return {
    scripts: body.querySelectorAll('script').length,
    images: body.querySelectorAll('img').length,
    handlers: [...body.querySelectorAll('*')].filter(
      e => [...e.attributes].some(a => a.name.startsWith('on'))).length,
    hrefs: [...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href')),
    heading: body.querySelector('h1') ? body.querySelector('h1').textContent : null,
    text: body.textContent,
  };
}"""


def test_chromium_shows_hostile_markdown_as_text_and_runs_nothing(
    portal: Portal, chromium: Any
) -> None:
    with pages.browser(portal.runtime) as client:
        pages.sign_in(client)
        made = client.post(
            "/api/changes",
            json=announcement_body(title="Budget <script>alert(9)</script>", body=HOSTILE_MARKDOWN),
            headers={"accept": "*/*"},
        )
        assert made.status_code == 201, made.text
        change_id = made.json()["changeId"]
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    dialogs: list[str] = []

    def on_dialog(dialog: Any) -> None:  # alert() from an injected script would land here
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    try:
        signed = page.request.post(
            f"{portal.base}/auth/dev-login",
            form={"email": "manager@ccoe.example.com", "role": "ChangeManager", "customers": ""},
        )
        assert signed.ok
        page.goto(f"{portal.base}/changes/{change_id}")
        page.wait_for_selector("#announcement-body")
        found = page.evaluate(BODY_PROBE)
        assert (found["scripts"], found["images"], found["handlers"]) == (0, 0, 0)
        assert found["heading"] == "Budget news"
        assert "<script>alert('body')</script>" in found["text"]  # shown as text
        assert not [h for h in found["hrefs"] if h.strip().lower().startswith("javascript:")]
        assert "https://finops.example.com/guide" in found["hrefs"]
        assert page.locator("h1.change-title").inner_text() == "Budget <script>alert(9)</script>"
        page.goto(f"{portal.base}/changes/{change_id}/preview")
        page.wait_for_load_state("load")
        page.goto(f"{portal.base}/announcements")
        assert (
            page.locator("table.announcements a.change-link")
            .first.inner_text()
            .startswith("Budget <script>")
        )
        assert dialogs == []
    finally:
        context.close()

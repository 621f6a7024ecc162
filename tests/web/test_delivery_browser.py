"""Debian chromium: the delivery grid's outcome counts, the recipients drill-down, the rates.

The portal (local mode, in-process moto, the real worker) runs under uvicorn. On a phone the
recipients and the rates become one card per row, and nothing scrolls sideways.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from changecast.bootstrap import Runtime
from changecast.local.system import free_port
from changecast.web.app import create_app
from tests.web.test_pages_support import browser as html_client
from tests.web.test_pages_support import (
    deliver_queue,
    module_runtime,
    record_outcomes,
    sign_in,
    submitted_change,
)
from tests.web.test_saml_browser import CHROMIUM, CHROMIUM_ARGS, ServerThread

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PHONE = {"width": 390, "height": 844}


@dataclass
class Portal:
    base: str
    runtime: Runtime


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    for runtime in module_runtime(tmp_path_factory):
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
def page(chromium: Any, portal: Portal) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    opened = context.new_page()
    opened.set_default_timeout(20_000)
    opened.goto(portal.base + "/signin")
    opened.fill("input[name=email]", "platform.lead@ccoe.example.com")
    opened.select_option("select[name=role]", "ChangeManager")
    opened.click("#signin-form button[type=submit]")
    opened.wait_for_url(portal.base + "/")
    yield opened
    context.close()


def delivered_change(runtime: Runtime) -> str:
    """Submitted to acme and globex, both delivered by the real worker; acme had a bounce."""
    with html_client(runtime) as client:
        sign_in(client)
        change_id = submitted_change(client, customers=["acme", "globex"])
    for code in ("acme", "globex"):
        deliver_queue(runtime, code)
    record_outcomes(runtime, change_id, "acme", delivered=1, bounced=1)
    return change_id


def no_sideways_scroll(page: Any) -> bool:
    return bool(
        page.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1"
        )
    )


def test_the_drill_down_opens_under_the_grid_and_reads_on_a_phone(
    portal: Portal, page: Any
) -> None:
    change_id = delivered_change(portal.runtime)
    page.goto(f"{portal.base}/changes/{change_id}")
    acme = page.locator("#deliveries tr[data-customer=acme][data-event=submitted]")
    assert acme.locator("td[data-label=Delivered]").inner_text() == "1"
    assert acme.locator("td[data-label=Bounced]").inner_text() == "1"
    page.click("a[data-recipients=acme]")
    page.wait_for_selector("#recipients[data-customer=acme] tr[data-outcome=sent]")
    addresses = page.locator("#recipients td[data-label=Address]").all_inner_texts()
    assert addresses and all("@acme.example.com" in a for a in addresses)
    assert page.url.endswith(f"/changes/{change_id}")  # htmx swapped it in, no navigation

    page.set_viewport_size(PHONE)
    thead = page.locator("#recipients table thead")
    assert thead.evaluate("el => getComputedStyle(el).display") == "none"
    card = page.locator("#recipients tbody tr").first.bounding_box()
    assert card is not None and card["width"] > 300, card
    for cell in page.locator("#recipients tbody tr:first-child td[data-label]").all():
        box = cell.bounding_box()
        assert box is None or box["width"] > 200, (cell.get_attribute("data-label"), box)
    assert no_sideways_scroll(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#recipients").screenshot(path=str(SCREENSHOTS / "recipients-phone.png"))


def test_the_dashboard_rates_flag_the_ses_thresholds_on_a_phone(portal: Portal, page: Any) -> None:
    delivered_change(portal.runtime)
    page.set_viewport_size(PHONE)
    page.goto(portal.base + "/")
    row = page.locator("#delivery-health tr[data-customer=acme]")
    assert row.get_attribute("data-bounce-alarm") == "true"
    rate = row.locator("td[data-label='Bounce rate']")
    assert "over 5%" in rate.inner_text()
    assert rate.evaluate("el => getComputedStyle(el).fontWeight") in {"600", "700"}
    box = row.bounding_box()
    assert box is not None and box["width"] > 300, box
    heading = page.locator("#delivery-health h2").inner_text()
    assert "5% bounces" in heading and "0.1% complaints" in heading
    assert no_sideways_scroll(page)
    page.locator("#delivery-health").screenshot(path=str(SCREENSHOTS / "rates-phone.png"))

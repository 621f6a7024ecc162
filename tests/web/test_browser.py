"""The portal in Debian's chromium against a real ``local up``: create, preview, submit, approve.

Saves the README's screenshots under docs/screenshots/. Fails (never skips) without chromium.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from changecast.local.system import free_port
from tests.builders import change_body
from tests.e2e.conftest import LocalUp

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
HOSTILE = '<script>alert(1)</script> "><img src=x onerror=alert(1)>'
DELIVERY_WAIT_MS = 45_000
APPROVER = "change.approver@ccoe.example.com"


@dataclass
class Portal:
    """A running ``local up`` and one chromium page with a dialog listener."""

    base: str
    page: Any
    dialogs: list[str] = field(default_factory=list)
    browser: Any = None

    def approve_as_someone_else(self, change_id: str) -> None:
        """Four eyes: a second ChangeManager approves what this page's user wrote."""
        context = self.browser.new_context()
        try:
            signed = context.request.post(
                self.base + "/auth/dev-login", form={"email": APPROVER, "role": "ChangeManager"}
            )
            assert signed.ok, signed.text()
            csrf = {"X-CSRF-Token": signed.json()["csrfToken"]}
            done = context.request.post(
                f"{self.base}/api/changes/{change_id}/approve", headers=csrf
            )
            assert done.ok, done.text()
        finally:
            context.close()

    def go(self, path: str) -> None:
        self.page.goto(self.base + path)

    def shot(self, name: str) -> None:
        """The whole page; the viewport grows to fit it, so every iframe is painted."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        size = self.page.viewport_size
        height = self.page.evaluate("document.documentElement.scrollHeight")
        self.page.set_viewport_size({"width": size["width"], "height": height})
        self.page.wait_for_timeout(400)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
        self.page.set_viewport_size(size)


@pytest.fixture(scope="module")
def local_system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("browser")
    system = LocalUp(data_dir=root / "data", port=free_port())
    system.data_dir.mkdir()
    try:
        # four eyes on, as for a real user: a second ChangeManager approves (the screenshots too)
        local = system.start("--customers", "3", "--no-demo")
        yield local.portal_url
        assert system.stop() == 0
    finally:
        system.close()


@pytest.fixture(scope="module")
def browser(local_system: str) -> Iterator[Any]:
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: install Debian's chromium (apt)"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def portal(browser: Any, local_system: str) -> Iterator[Portal]:
    context = browser.new_context(
        viewport={"width": 1366, "height": 900}, timezone_id="Europe/Paris", locale="en-GB"
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    portal = Portal(base=local_system, page=page, browser=browser)

    def on_dialog(dialog: Any) -> None:
        portal.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    portal.go("/")
    page.wait_for_url(re.compile(r"/signin\?next="))
    page.fill("input[name=email]", "platform.lead@ccoe.example.com")
    page.select_option("select[name=role]", "ChangeManager")
    page.click("#signin-form button[type=submit]")
    page.wait_for_url(local_system + "/")
    yield portal
    context.close()


def fill_change(portal: Portal, title: str, customers: list[str]) -> None:
    page = portal.page
    portal.go("/changes/new")
    page.fill("#f-title", title)
    page.fill("#f-service_now", "CHG0042")
    page.fill("#f-jira", "CCOE-42")
    for code in customers:
        page.fill("[data-customer-filter]", code)
        page.check(f"input[name=customers][value={code}]")
    page.fill("[data-customer-filter]", "")
    page.fill("#f-start", "2030-03-01T10:00")
    page.fill("#f-end", "2030-03-01T12:00")
    assert page.input_value("#f-timezone") == "Europe/Paris"  # the browser's, by default
    assert page.inner_text(".tz-name") == "Europe/Paris"
    page.fill("#f-change_reason", "The load balancer certificates expire on 15 March.")
    page.fill("#f-implementation_plan", "Swap the listeners one by one.\nWatch the error rate.")
    page.fill("#f-test_plan", "TLS handshake checks from every region.")
    page.fill("#f-expected_customer_impact", "None expected; connections may reset once.")
    page.fill("#f-rollback_plan", "Swap the previous certificates back.")
    page.check("input[name=meeting]")
    page.fill("#f-meeting_location", "Teams bridge")


def seed(portal: Portal) -> None:
    """A few more changes through the JSON API, so the dashboard has something to show."""
    today = datetime.now(UTC)
    session = portal.page.request.get(portal.base + "/api/session").json()
    csrf = {"X-CSRF-Token": session["csrfToken"]}  # what app.js and htmx send from the page
    plans = [
        ("Patch the bastion hosts", ["acme", "initech"], 3, ["submit"]),
        ("Resize the shared Redis cluster", ["globex"], 6, ["submit", "approve"]),
        ("Rotate the VPN pre-shared keys", ["initech"], 10, ["submit"]),
        ("Retire the old NAT gateways", ["acme"], None, []),
    ]
    for title, customers, days, actions in plans:
        body = change_body(title=title, customers=customers, timezone="Europe/Paris")
        if days is None:
            del body["changeMetadata"]["schedule"]
        else:
            day = (today + timedelta(days=days)).strftime("%Y-%m-%d")
            body["changeMetadata"]["schedule"] |= {
                "implementationStart": f"{day}T10:00",
                "implementationEnd": f"{day}T11:30",
            }
        created = portal.page.request.post(portal.base + "/api/changes", data=body, headers=csrf)
        assert created.ok, created.text()
        change_id = created.json()["changeId"]
        for action in actions:
            if action == "approve":
                portal.approve_as_someone_else(change_id)
                continue
            done = portal.page.request.post(
                f"{portal.base}/api/changes/{change_id}/{action}", headers=csrf
            )
            assert done.ok, done.text()


def test_create_preview_submit_approve_delivers_to_both_customers(portal: Portal) -> None:
    page = portal.page
    fill_change(portal, "Rotate load balancer certificates", ["acme", "globex"])
    assert page.inner_text("[data-selected-count]") == "2 selected"
    portal.shot("create")
    page.click("#preview-button")
    page.wait_for_url(re.compile(r"/preview$"))
    check_preview(portal)
    portal.shot("preview")
    page.click("#submit-button")
    page.wait_for_selector("#distribution-summary[data-complete=true]")
    assert page.locator("li.result.outcome-written").count() == 2
    page.click("#view-change")
    assert "Approve" not in page.inner_text(".action-bar")  # four eyes: the author may not
    approver = approver_portal(portal)
    approver.go(page.url.split(portal.base)[1].split("?")[0])
    approver.page.click("button[data-action=approve]")
    approver.page.wait_for_selector("#distribution-summary[data-complete=true]")
    approver.page.reload()  # the result page is a GET: reloading approves nothing twice
    assert "You approved version 1" in approver.page.inner_text("#result")
    for code in ("acme", "globex"):
        approver.page.wait_for_selector(
            f"#deliveries tr[data-customer={code}][data-event=approved][data-state=delivered]",
            timeout=DELIVERY_WAIT_MS,
        )
    assert approver.page.inner_text("#change-status") == "approved"
    approver.shot("view")
    approver.page.context.close()
    more_screenshots(portal)
    assert portal.dialogs == []


def approver_portal(portal: Portal) -> Portal:
    """A second ChangeManager (four eyes) in their own browser context, as a person would be."""
    context = portal.browser.new_context(
        viewport={"width": 1366, "height": 900}, timezone_id="Europe/Paris", locale="en-GB"
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(portal.base + "/signin")
    page.fill("input[name=email]", APPROVER)
    page.select_option("select[name=role]", "ChangeManager")
    page.click("#signin-form button[type=submit]")
    page.wait_for_url(portal.base + "/")
    return Portal(base=portal.base, page=page, browser=portal.browser)


def check_preview(portal: Portal) -> None:
    """Both customers' emails: subject, the HTML in its iframe, recipients; the metadata."""
    page = portal.page
    previews = page.locator("section.email-preview")
    assert sorted(previews.evaluate_all("els => els.map(e => e.dataset.customer)")) == [
        "acme",
        "globex",
    ]
    for code in ("acme", "globex"):
        section = page.locator(f"section.email-preview[data-customer={code}]")
        assert "[Approval requested]" in section.locator(".email-subject").inner_text()
        frame = page.frame_locator(f"section[data-customer={code}] iframe.email-frame")
        assert "Rotate load balancer certificates" in frame.locator("body").inner_text()
        assert int(section.locator(".recipient-count").first.inner_text()) >= 1
    assert '"changeId"' in page.inner_text("#metadata-json")


def more_screenshots(portal: Portal) -> None:
    """The outbox, search and dashboard (with a few more changes), on a laptop and a phone."""
    page = portal.page
    portal.go("/outbox?customer=acme")
    main = page.inner_text("main")
    assert "[Approved] Change notification: Rotate load balancer certificates" in main
    portal.shot("outbox")
    seed(portal)
    portal.go("/search?q=certificates")
    assert "Rotate load balancer certificates" in page.inner_text("table.changes")
    portal.shot("search")
    portal.go("/")
    upcoming = page.inner_text(".upcoming")
    assert "Patch the bastion hosts" in upcoming
    assert "10:00" in upcoming  # the window's Paris time, shown in the viewer's (Paris) zone
    portal.shot("dashboard")
    page.set_viewport_size({"width": 390, "height": 844})
    portal.go("/")
    portal.shot("dashboard-phone")


def test_hostile_title_stays_text_and_opens_no_dialog(portal: Portal) -> None:
    page = portal.page
    fill_change(portal, HOSTILE, ["acme", "initech"])
    page.click("#preview-button")
    page.wait_for_url(re.compile(r"/preview$"))
    assert HOSTILE in page.inner_text(".change-title")
    for code in ("acme", "initech"):
        frame = page.frame_locator(f"section[data-customer={code}] iframe.email-frame")
        assert HOSTILE in frame.locator("body").inner_text()
        assert frame.locator("img[src=x]").count() == 0
    assert page.locator("img[src=x]").count() == 0
    page.click("#submit-button")
    page.wait_for_selector("#distribution-summary")
    page.click("#view-change")
    assert page.inner_text("h1.change-title") == HOSTILE
    for path in ("/", "/approvals", "/search?q=alert"):
        portal.go(path)
        assert page.locator("img[src=x]").count() == 0
        assert html.escape("<script>") not in page.inner_text("body")
        assert "<script>alert(1)</script>" in page.inner_text("body")
    page.wait_for_timeout(300)
    assert portal.dialogs == []


def test_autosave_offers_to_restore_unsaved_edits(portal: Portal) -> None:
    page = portal.page
    portal.go("/changes/new")
    page.fill("#f-title", "Half-typed change")
    page.check("input[name=customers][value=globex]")
    page.wait_for_timeout(700)
    page.reload()
    banner = page.locator("[data-restore-banner]")
    banner.wait_for(state="visible")
    page.click("[data-restore]")
    assert page.input_value("#f-title") == "Half-typed change"
    assert page.is_checked("input[name=customers][value=globex]")
    page.click("[data-clear-all]")
    assert page.inner_text("[data-selected-count]") == "0 selected"
    page.click("[data-select-all]")
    assert page.inner_text("[data-selected-count]") == "3 selected"
    assert page.input_value("#f-timezone") == "Europe/Paris"


def test_phone_layouts_of_the_change_view_and_the_audit_trail(
    portal: Portal, browser: Any, local_system: str
) -> None:
    """Badges never wrap, the delivery grid keeps readable cells, the audit columns keep words."""
    page = portal.page
    session = page.request.get(portal.base + "/api/session").json()
    csrf = {"X-CSRF-Token": session["csrfToken"]}
    body = change_body(title="Renew the wildcard certificate", customers=["acme", "globex"])
    created = page.request.post(portal.base + "/api/changes", data=body, headers=csrf)
    assert created.ok, created.text()
    change_id = created.json()["changeId"]
    done = page.request.post(f"{portal.base}/api/changes/{change_id}/submit", headers=csrf)
    assert done.ok, done.text()
    portal.approve_as_someone_else(change_id)
    page.set_viewport_size({"width": 390, "height": 844})
    portal.go(f"/changes/{change_id}")
    page.wait_for_selector("#deliveries tr[data-customer=acme][data-event=approved]")
    badge = page.locator("#change-status").bounding_box()
    assert badge is not None and badge["height"] < 30, badge  # one line: "approved"
    for cell in page.locator("#deliveries tbody tr:first-child td[data-label]").all():
        box = cell.bounding_box()
        assert box is None or box["width"] > 200, (cell.get_attribute("data-label"), box)
    portal.shot("view-phone")

    auditor = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    audit_page = auditor.new_page()
    try:
        audit_page.goto(local_system + "/signin")
        audit_page.fill("input[name=email]", "auditor@ccoe.example.com")
        audit_page.select_option("select[name=role]", "Auditor")
        audit_page.click("#signin-form button[type=submit]")
        audit_page.wait_for_url(local_system + "/")
        audit_page.goto(local_system + "/audit")
        widths = audit_page.locator("#audit-events thead th").evaluate_all(
            "cells => cells.map(c => c.getBoundingClientRect().width)"
        )
        assert min(widths[:-1]) >= 60, widths  # "what changed" no longer squeezes the rest
        audit = Portal(base=local_system, page=audit_page)
        audit_page.set_viewport_size({"width": 390, "height": 844})
        audit.go("/audit")
        first = audit_page.locator("#audit-events tbody tr").first.bounding_box()
        assert first is not None and first["width"] > 300, first
        audit.shot("audit-phone")
    finally:
        auditor.close()

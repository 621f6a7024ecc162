"""Every portal page, for every role and without sign-in, at 1366 px and 390 px in Chromium.

Each page has no axe-core violation at WCAG 2.1 A/AA, no table header with a word split across
lines, no horizontal overflow and no console error; the Nu HTML Checker passes every page's
source and every email's HTML part, except the rules ``NU_ALLOWED`` lists with their reasons.
Runs against a real ``local up`` with its demo data (alice writes, bob approves). The tools are
pinned in tests/web/tools (``npm ci``, run by scripts/system-deps.sh); missing, the suite fails.
"""

from __future__ import annotations

import email
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from changecast.local.system import free_port
from tests.builders import change_body
from tests.builders_announcements import announcement_body
from tests.e2e.conftest import LocalUp
from tests.web.page_quality_support import (
    WIDTHS,
    Finding,
    axe_findings,
    layout_findings,
    load_axe,
    nu_check,
)
from tests.web.test_browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.browser

ROLES = {
    "ChangeManager": ("bob@ccoe.example.com", ""),
    "CustomerManager": ("carol@acme.example.com", "acme"),
    "ReadOnly": ("rita@ccoe.example.com", ""),
    "Auditor": ("audrey@ccoe.example.com", ""),
}
ANONYMOUS = "anonymous"
OURS = "Approved in the browser by the page check"
LINK = re.compile(r"/(signoff|survey)/([A-Za-z0-9_.-]{20,})")


@dataclass
class Site:
    """The running portal and what its pages are about: changes, links from the emails."""

    base: str
    changes: dict[str, str]  # change id -> status
    draft: str
    submitted: str
    approved: str
    to_approve: str  # alice's, for bob to approve in the browser
    tokens: dict[str, list[str]]  # signoff / survey -> tokens found in the sent emails
    messages: list[tuple[str, str]] = field(default_factory=list)  # (customer, message id)

    def pages(self, role: str) -> list[str]:
        """Every page a person in ``role`` can reach (and a few they cannot: error pages)."""
        if role == ANONYMOUS:
            signoff, survey = self.tokens["signoff"], self.tokens["survey"]
            return [
                "/signin",
                *(f"/signoff/{token}" for token in signoff[:2]),
                *(f"/survey/{token}" for token in survey[:1]),
                "/calendar/acme.ics?token=wrong",
            ]
        pages = ["/", "/search?q=TLS", "/announcements", "/profile", "/outbox"]
        pages += ["/changes/new", "/announcements/new", "/mine?tab=drafts"]
        pages += ["/approvals", "/audit", "/no-such-page", "/changes/not-an-id"]
        pages += [f"/changes/{change_id}" for change_id in self.changes]
        pages += [
            f"/changes/{self.draft}/preview",
            f"/changes/{self.draft}/edit",
            f"/changes/{self.submitted}/preview?event=window_open",
            f"/changes/{self.submitted}/edit",
            f"/changes/{self.approved}/deliveries/acme/recipients",
            f"/changes/{self.approved}?done=approve",
        ]
        return pages


def sign_in(context: Any, base: str, role: str) -> None:
    if role == ANONYMOUS:
        return
    who, customers = ROLES[role]
    page = context.new_page()
    page.goto(base + "/signin")
    page.fill("input[name=email]", who)
    page.select_option("select[name=role]", role)
    if customers:
        page.fill("input[name=customers]", customers)
    page.click("#signin-form button[type=submit]")
    page.wait_for_url(base + "/")
    page.close()


@pytest.fixture(scope="module")
def local_system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("quality")
    system = LocalUp(data_dir=root / "data", port=free_port())
    system.data_dir.mkdir()
    try:
        yield system.start("--customers", "3").portal_url  # with the demo changes
        assert system.stop() == 0
    finally:
        if system.process is not None:
            system.process.kill()
            system.process.wait()


@pytest.fixture(scope="module")
def browser(local_system: str) -> Iterator[Any]:
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: install Debian's chromium (apt)"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def site(browser: Any, local_system: str) -> Iterator[Site]:
    """The demo data, an announcement and a cancelled change; links from the sent emails."""
    context = browser.new_context()
    request = context.request
    base = local_system
    signed = request.post(f"{base}/auth/dev-login", form={"email": "alice@ccoe.example.com"})
    csrf = {"X-CSRF-Token": signed.json()["csrfToken"]}
    made = request.post(
        f"{base}/api/changes", data=announcement_body(customers=["acme"]), headers=csrf
    )
    assert made.ok, made.text()
    assert request.post(f"{base}/api/changes/{made.json()['changeId']}/submit", headers=csrf).ok
    made_ids = []
    for title, actions in (
        ("Cancelled for the page check", ["submit", "cancel"]),
        (OURS, ["submit"]),
    ):
        body = change_body(title=title, customers=["globex", "initech"])
        made = request.post(f"{base}/api/changes", data=body, headers=csrf)
        assert made.ok, made.text()
        made_ids.append(made.json()["changeId"])
        for action in actions:
            if action == "cancel":  # a second version first: the view shows the two's diff
                edit = {**body, "version": 1}
                edit["changeMetadata"]["rollbackPlan"] = "Swap the previous listeners back."
                edited = request.put(f"{base}/api/changes/{made_ids[-1]}", data=edit, headers=csrf)
                assert edited.ok, edited.text()
            done = request.post(f"{base}/api/changes/{made_ids[-1]}/{action}", headers=csrf)
            assert done.ok, done.text()
    listed = request.get(f"{base}/api/changes?pageSize=50").json()["items"]
    changes = {item["changeId"]: item["status"] for item in listed if item["title"] != OURS}
    titled = {item["title"]: item["changeId"] for item in listed}
    tokens, messages = emailed_links(request, base)
    yield Site(
        base=base,
        changes=changes,
        draft=titled["Enable GuardDuty malware protection"],  # the demo's four
        submitted=titled["Rotate TLS certificates on shared ALBs"],
        approved=titled["Upgrade EKS clusters to 1.31"],
        to_approve=made_ids[-1],
        tokens=tokens,
        messages=messages,
    )
    context.close()


def emailed_links(request: Any, base: str) -> tuple[dict[str, list[str]], list[tuple[str, str]]]:
    """Sign-off and survey links from what the embedded SES sent (the workers send in seconds)."""
    tokens: dict[str, list[str]] = {"signoff": [], "survey": []}
    messages: list[tuple[str, str]] = []
    for _ in range(120):
        tokens, messages = {"signoff": [], "survey": []}, []
        for code in ("acme", "globex", "initech"):
            for item in request.get(f"{base}/api/local/outbox?customer={code}").json():
                messages.append((code, item["messageId"]))
                for part in email.message_from_string(item["body"]).walk():
                    if part.get_content_type() != "text/plain":
                        continue
                    payload = part.get_payload(decode=True)
                    assert isinstance(payload, bytes)
                    text = payload.decode("utf-8", "replace")
                    for kind, token in LINK.findall(text):
                        tokens[kind].append(token)
        if tokens["signoff"] and tokens["survey"]:
            break
        time.sleep(0.5)
    assert tokens["signoff"] and tokens["survey"], f"no sign-off or survey link sent: {tokens}"
    return tokens, messages


def visit(page: Any, url: str, where: str) -> list[Finding]:
    """Load one page and check it at each width (the same document, resized: media queries
    apply again); console errors other than the page's own status count."""
    errors: list[str] = []

    def on_console(message: Any) -> None:
        own_status = message.location.get("url") == url and "Failed to load resource" in (
            message.text
        )
        if message.type == "error" and not own_status:
            errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(url, wait_until="load")
    found: list[Finding] = []
    for name, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        found += axe_findings(page, f"{where} at {name}") + layout_findings(
            page, f"{where} at {name}"
        )
    page.remove_listener("console", on_console)
    return found + [Finding(where, f"console error: {text}") for text in errors]


@pytest.mark.parametrize("role", [*ROLES, ANONYMOUS])
def test_every_page_is_accessible_and_fits_at_both_widths(
    browser: Any, site: Site, role: str
) -> None:
    context = browser.new_context(
        viewport={"width": 1366, "height": 900}, timezone_id="Europe/Berlin"
    )
    load_axe(context)
    sign_in(context, site.base, role)
    page = context.new_page()
    findings: list[Finding] = []
    for path in site.pages(role):
        findings += visit(page, site.base + path, f"{role} {path}")
    context.close()
    assert not findings, "\n".join(str(f) for f in findings)


def test_the_nu_checker_passes_every_page_and_email(
    browser: Any, site: Site, tmp_path: Path
) -> None:
    written: list[Path] = []
    for role in [*ROLES, ANONYMOUS]:
        context = browser.new_context()
        sign_in(context, site.base, role)
        for path in site.pages(role):
            source = context.request.get(site.base + path, headers={"accept": "text/html"})
            if "text/html" not in source.headers.get("content-type", ""):
                continue
            name = f"{role}{re.sub(r'[^A-Za-z0-9]+', '_', path)[:80]}.html"
            written.append(tmp_path / name)
            written[-1].write_text(source.text())
        context.close()
    context = browser.new_context()
    sign_in(context, site.base, "ChangeManager")
    for code, message_id in site.messages[::2][:12]:  # every kind of email, not every copy
        part = context.request.get(f"{site.base}/outbox/{code}/{message_id}/message.html")
        assert part.ok
        written.append(tmp_path / f"email_{code}_{message_id[:40]}.html")
        written[-1].write_text(part.text())
    context.close()
    assert len(written) > 60
    findings = nu_check(written)
    assert not findings, "\n".join(str(f) for f in findings)


def test_reloading_an_approval_in_the_browser_repeats_nothing(browser: Any, site: Site) -> None:
    """Bob approves alice's change; the result page reloads as a GET that says what he did."""
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    load_axe(context)
    sign_in(context, site.base, "ChangeManager")
    page = context.new_page()
    page.goto(f"{site.base}/changes/{site.to_approve}")
    page.click("button[data-action=approve]")
    page.wait_for_selector("#distribution-summary[data-complete=true]")
    assert not axe_findings(page, "the approval's streamed page")
    assert page.url == f"{site.base}/changes/{site.to_approve}?done=approve"
    posted: list[str] = []
    page.on("request", lambda r: posted.append(r.url) if r.method == "POST" else None)
    page.reload()
    assert posted == []
    assert "You approved version 1" in page.inner_text("#result")
    assert "your role does not allow" not in page.content()
    context.close()


def test_every_email_fits_a_phone(browser: Any, site: Site) -> None:
    """The HTML part is fluid (at most 640 px wide): nothing overflows a 390 px screen."""
    context = browser.new_context(viewport={"width": 390, "height": 800})
    sign_in(context, site.base, "ChangeManager")
    page = context.new_page()
    findings: list[Finding] = []
    for code, message_id in site.messages[::2][:12]:
        page.goto(f"{site.base}/outbox/{code}/{message_id}/message.html")
        findings += layout_findings(page, f"email {code}/{message_id[:12]}")
    page.set_viewport_size({"width": 1366, "height": 800})
    card = page.evaluate("document.querySelector('table table').getBoundingClientRect().width")
    assert card == 640  # and no wider on a desktop
    context.close()
    assert not findings, "\n".join(str(f) for f in findings)

"""``/docs`` works without internet: Swagger UI comes from the package, pinned.

The browser test blocks every request that is not to the portal itself (and resolves no host
name), then checks that Swagger UI renders the API under the page's CSP.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from changecast.bootstrap import Runtime
from changecast.local.system import free_port
from changecast.web.api_docs import ASSETS, DOCS_CSP, STATIC_DOCS, SWAGGER_UI_VERSION
from changecast.web.app import create_app
from tests.web.test_pages_support import module_runtime
from tests.web.test_saml_browser import CHROMIUM, CHROMIUM_ARGS, ServerThread

OFFLINE_ARGS = [*CHROMIUM_ARGS, "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    yield from module_runtime(tmp_path_factory)


def test_each_vendored_file_is_the_pinned_release_byte_for_byte() -> None:
    for asset in ASSETS:
        assert asset.actual_integrity() == asset.integrity, asset.name
    notes = (STATIC_DOCS / "README.md").read_text(encoding="utf-8")
    assert f"swagger-ui-dist@{SWAGGER_UI_VERSION}" in notes
    for licence in ("LICENSE.swagger-ui", "NOTICE.swagger-ui"):
        assert (STATIC_DOCS / licence).stat().st_size > 0
    assert not (STATIC_DOCS / "redoc.standalone.js").exists()  # it loads a logo from its CDN


def test_the_page_names_only_this_origin_and_has_no_inline_script(runtime: Runtime) -> None:
    with TestClient(create_app(runtime)) as client:
        page = client.get("/docs")
        assert page.status_code == 200
        assert page.headers["content-security-policy"] == DOCS_CSP
        assert "script-src 'self';" in DOCS_CSP and "nonce" not in DOCS_CSP
        assert page.headers["cache-control"] == "no-store"
        assert "http://" not in page.text and "https://" not in page.text
        scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page.text, flags=re.S)
        assert len(scripts) == 2
        for attributes, body in scripts:
            assert 'src="/static/docs/' in attributes and 'integrity="sha384-' in attributes
            assert body.strip() == ""  # nothing inline
        for asset in ASSETS:
            served = client.get(asset.url)
            assert served.status_code == 200, asset.url
            assert served.content == asset.path.read_bytes()
        assert client.get("/redoc").status_code == 404


@pytest.fixture(scope="module")
def portal(runtime: Runtime) -> Iterator[str]:
    port = free_port()
    with ServerThread(create_app(runtime), port):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
def offline_page(portal: str) -> Iterator[tuple[Any, list[str], list[str]]]:
    """A chromium page that can reach the portal and nothing else; what it tried, its errors."""
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: install Debian's chromium (apt)"
    from playwright.sync_api import sync_playwright

    elsewhere: list[str] = []
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=OFFLINE_ARGS)
        context = browser.new_context(viewport={"width": 1366, "height": 900})

        def only_the_portal(route: Any) -> None:
            url = route.request.url
            if url.startswith((portal + "/", "blob:", "data:")):
                route.continue_()
            else:
                elsewhere.append(url)
                route.abort("internetdisconnected")

        context.route("**/*", only_the_portal)
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        try:
            yield page, elsewhere, errors
        finally:
            context.close()
            browser.close()


@pytest.mark.browser
def test_swagger_ui_renders_with_the_network_blocked(
    portal: str, offline_page: tuple[Any, list[str], list[str]]
) -> None:
    page, elsewhere, errors = offline_page
    page.goto(portal + "/docs")
    page.wait_for_selector(".swagger-ui .info .title")
    assert "changecast" in page.inner_text(".swagger-ui .info .title").lower()
    page.wait_for_selector(".opblock-summary-path")
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert any("/api/changes" in path for path in paths), paths[:5]
    assert elsewhere == []
    assert errors == []

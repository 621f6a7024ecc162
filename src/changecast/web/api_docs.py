"""``/docs`` (Swagger UI): on in local mode, off elsewhere unless enabled.

Swagger UI is served from the package (``web/static/docs/``, vendored from a pinned npm
release), so the page works without internet. Each ``<script>`` and stylesheet carries its
file's sha384 (Subresource Integrity), so a changed file is refused by the browser; the page's
Content-Security-Policy allows scripts from this origin only: no inline script, no CDN. (ReDoc
was dropped: its bundle always loads a logo from its CDN.)
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from html import escape
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

STATIC_DOCS = Path(__file__).parent / "static" / "docs"
"""Where the vendored viewer is on disk (see its README.md for the pinned versions)."""
URL_PREFIX = "/static/docs"

SWAGGER_UI_VERSION = "5.17.14"  # npm swagger-ui-dist


@dataclass(frozen=True)
class Asset:
    """A vendored file and the sha384 its pinned release has."""

    name: str
    integrity: str

    @property
    def url(self) -> str:
        return f"{URL_PREFIX}/{self.name}"

    @property
    def path(self) -> Path:
        return STATIC_DOCS / self.name

    def actual_integrity(self) -> str:
        """The file's sha384 as an SRI value (tests compare it with ``integrity``)."""
        digest = hashlib.sha384(self.path.read_bytes()).digest()
        return "sha384-" + base64.b64encode(digest).decode("ascii")


SWAGGER_JS = Asset(
    "swagger-ui-bundle.js",
    "sha384-wmyclcVGX/WhUkdkATwhaK1X1JtiNrr2EoYJ+diV3vj4v6OC5yCeSu+yW13SYJep",
)
SWAGGER_CSS = Asset(
    "swagger-ui.css",
    "sha384-wxLW6kwyHktdDGr6Pv1zgm/VGJh99lfUbzSn6HNHBENZlCN7W602k9VkGdxuFvPn",
)
SWAGGER_START = Asset(
    "swagger-start.js",
    "sha384-YuL7GNVjrR/Hzej3ygWR+ndpjE/EDxDXC0s84k0hJe/EY1baCJk+enwpkvLUP7R8",
)
ASSETS = (SWAGGER_JS, SWAGGER_CSS, SWAGGER_START)

DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src blob:; "
    "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
"""Scripts from this origin only (Swagger UI injects its own styles)."""


def _headers() -> dict[str, str]:
    return {
        "content-security-policy": DOCS_CSP,
        "cache-control": "no-store",
        "x-content-type-options": "nosniff",
        "referrer-policy": "same-origin",
    }


def _script(asset: Asset) -> str:
    return f'<script src="{asset.url}" integrity="{asset.integrity}"></script>'


def swagger_page(title: str, openapi_url: str) -> HTMLResponse:
    html = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)} - Swagger UI</title>
<link rel="stylesheet" href="{SWAGGER_CSS.url}" integrity="{SWAGGER_CSS.integrity}"></head>
<body><div id="swagger-ui" data-openapi-url="{escape(openapi_url)}"></div>
{_script(SWAGGER_JS)}
{_script(SWAGGER_START)}
</body></html>"""
    return HTMLResponse(html, headers=_headers())


def install_api_docs(app: FastAPI, *, openapi_url: str) -> None:
    """Add ``/docs`` (left out of the OpenAPI document)."""

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return swagger_page(app.title, openapi_url)

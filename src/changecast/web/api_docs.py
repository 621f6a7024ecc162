"""``/docs`` (Swagger UI) and ``/redoc``: on in local mode, off elsewhere unless enabled.

The pages load one pinned version of each viewer with Subresource Integrity, so a changed file on
the CDN is refused by the browser, and send a Content-Security-Policy that allows that CDN's
scripts only, this origin for everything else, and the one inline start-up script by its nonce.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from html import escape

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

CDN = "https://cdn.jsdelivr.net"


@dataclass(frozen=True)
class Asset:
    url: str
    integrity: str


SWAGGER_JS = Asset(
    f"{CDN}/npm/swagger-ui-dist@5.17.14/swagger-ui-bundle.js",
    "sha384-wmyclcVGX/WhUkdkATwhaK1X1JtiNrr2EoYJ+diV3vj4v6OC5yCeSu+yW13SYJep",
)
SWAGGER_CSS = Asset(
    f"{CDN}/npm/swagger-ui-dist@5.17.14/swagger-ui.css",
    "sha384-wxLW6kwyHktdDGr6Pv1zgm/VGJh99lfUbzSn6HNHBENZlCN7W602k9VkGdxuFvPn",
)
REDOC_JS = Asset(
    f"{CDN}/npm/redoc@2.1.5/bundles/redoc.standalone.js",
    "sha384-0GrsyTQc9Oqd8h+b2dbc4XdR2T/DYpy0tLNNstyx+LBMUyiBbcWPbEs9aRmUcaxD",
)


def docs_csp(nonce: str) -> str:
    """The policy of both pages: pinned CDN scripts, the nonce'd start-up, nothing framed."""
    return (
        f"default-src 'none'; script-src {SWAGGER_JS.url} {REDOC_JS.url} 'nonce-{nonce}'; "
        f"style-src 'self' {SWAGGER_CSS.url} 'unsafe-inline'; img-src 'self' data:; "
        "font-src 'self' data:; connect-src 'self'; worker-src blob:; object-src 'none'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


def _headers(nonce: str) -> dict[str, str]:
    return {
        "content-security-policy": docs_csp(nonce),
        "cache-control": "no-store",
        "x-content-type-options": "nosniff",
        "referrer-policy": "same-origin",
    }


def _script(asset: Asset) -> str:
    return (
        f'<script src="{asset.url}" integrity="{asset.integrity}" '
        'crossorigin="anonymous" referrerpolicy="no-referrer"></script>'
    )


def swagger_page(title: str, openapi_url: str) -> HTMLResponse:
    nonce = secrets.token_urlsafe(16)
    start = json.dumps({"url": openapi_url, "dom_id": "#swagger-ui", "deepLinking": True})
    html = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)} - Swagger UI</title>
<link rel="stylesheet" href="{SWAGGER_CSS.url}" integrity="{SWAGGER_CSS.integrity}"
 crossorigin="anonymous" referrerpolicy="no-referrer"></head>
<body><div id="swagger-ui"></div>
{_script(SWAGGER_JS)}
<script nonce="{nonce}">window.ui = SwaggerUIBundle({start});</script>
</body></html>"""
    return HTMLResponse(html, headers=_headers(nonce))


def redoc_page(title: str, openapi_url: str) -> HTMLResponse:
    nonce = secrets.token_urlsafe(16)
    html = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)} - ReDoc</title></head>
<body><div id="redoc"></div>
{_script(REDOC_JS)}
<script nonce="{nonce}">Redoc.init({json.dumps(openapi_url)}, {{}},
 document.getElementById("redoc"));</script>
</body></html>"""
    return HTMLResponse(html, headers=_headers(nonce))


def install_api_docs(app: FastAPI, *, openapi_url: str) -> None:
    """Add ``/docs`` and ``/redoc`` (left out of the OpenAPI document)."""

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return swagger_page(app.title, openapi_url)

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return redoc_page(app.title, openapi_url)

"""The portal's Jinja2 environment (autoescape always on) and the one function pages render with."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
import jinja2.runtime
from fastapi import Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup
from starlette.templating import Jinja2Templates

from changecast.access.models import Actor
from changecast.delivery.markdown import markdown_html

WEB_DIR = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"


def when(value: datetime | None, tz: str, fmt: str = "%Y-%m-%d %H:%M %Z") -> str:
    """An instant shown in the viewer's timezone; naive values are taken as UTC."""
    if value is None:
        return ""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(ZoneInfo(tz)).strftime(fmt)


def iso(value: datetime | None) -> str:
    """An instant as a machine-readable ``<time datetime>`` value (UTC; naive values are UTC)."""
    if value is None:
        return ""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def asset_version() -> str:
    """A short hash of the static files, appended to their URLs so browsers refetch on change."""
    digest = hashlib.sha256()
    for path in sorted(STATIC_DIR.glob("*.*")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


@jinja2.pass_context
def csrf_field(context: jinja2.runtime.Context) -> Markup:
    """The hidden CSRF input every form includes; empty until tokens exist (one-place change)."""
    token = context.get("csrf_token") or ""
    if not token:
        return Markup("")
    return Markup('<input type="hidden" name="csrf_token" value="{}">').format(token)


def build_templates() -> Jinja2Templates:
    """Every template is autoescaped, whatever its extension."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = when
    env.filters["iso"] = iso
    env.filters["markdown"] = markdown_html  # announcement bodies: raw HTML off, links allow-listed
    env.globals["csrf_field"] = csrf_field
    env.globals["asset_version"] = asset_version()
    return Jinja2Templates(env=env)


def templates_of(request: Request) -> Jinja2Templates:
    templates: Jinja2Templates = request.app.state.templates
    return templates


def base_context(request: Request, viewer: Actor | None) -> dict[str, Any]:
    """What every page's layout needs: who is signed in, their timezone, the mode, CSRF."""
    from changecast.web.auth.csrf import csrf_token_for
    from changecast.web.pages.viewer import viewer_timezone

    runtime = request.app.state.runtime
    return {
        "viewer": viewer,
        "tz": viewer_timezone(request),
        "local_mode": runtime.settings.mode == "local",
        "csrf_token": csrf_token_for(request),  # forms: csrf_field(); htmx: hx-headers
        "path": request.url.path,
    }


def render(
    request: Request,
    name: str,
    viewer: Actor | None,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
) -> HTMLResponse:
    """Render one page (or an htmx fragment) with the layout's context."""
    merged = {**base_context(request, viewer), **(context or {})}
    return templates_of(request).TemplateResponse(request, name, merged, status_code=status)


def render_fragment(request: Request, name: str, context: dict[str, Any]) -> str:
    """A template rendered to a string (for streamed responses)."""
    template = templates_of(request).env.get_template(name)
    return template.render(context)

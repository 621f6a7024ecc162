"""The viewer's timezone: a cookie set by app.js from the browser, validated, else UTC."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import unquote

from fastapi import Depends, Request

from changecast.changes.models import check_timezone

TZ_COOKIE = "changecast_tz"


def viewer_timezone(request: Request) -> str:
    raw = unquote(request.cookies.get(TZ_COOKIE, ""))  # app.js URL-encodes the slash
    if not raw or len(raw) > 64:
        return "UTC"
    try:
        return check_timezone(raw)
    except ValueError:
        return "UTC"


ViewerTz = Annotated[str, Depends(viewer_timezone)]

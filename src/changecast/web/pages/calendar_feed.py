"""The calendar feed of a customer: ``/calendar/{code}.ics?token=…`` (no sign-in; the token is it).

A wrong or missing token, or an unknown customer, is a plain 404 (nothing says which).
"""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import APIRouter
from fastapi.responses import Response

from changecast.bootstrap import Runtime
from changecast.delivery.feed import calendar_feed, feed_entries
from changecast.delivery.feed_tokens import FeedTokens
from changecast.delivery.feed_tokens import webcal_url as feed_url
from changecast.errors import InvalidInputError, NotFoundError
from changecast.ids import parse_customer_code
from changecast.web.deps import RuntimeDep

router = APIRouter(include_in_schema=False)


NOT_FOUND = (
    '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
    "<title>Not found · changecast</title></head>\n<body><p>not found</p></body></html>\n"
)
"""A calendar client reads the status alone; a person who opens the link reads a page."""


def _not_found() -> Response:
    return Response(NOT_FOUND, status_code=404, media_type="text/html; charset=utf-8")


def feed_tokens(runtime: Runtime) -> FeedTokens:
    return runtime.feed_tokens


def webcal_urls(runtime: Runtime, customer_codes: Iterable[str]) -> dict[str, str]:
    """Each customer's feed as a ``webcal://`` URL (tokens made on first use, kept a minute)."""
    portal = runtime.config.email_config.portal_base_url
    tokens = feed_tokens(runtime).current_many(customer_codes)
    return {code: feed_url(portal, code, token) for code, token in tokens.items()}


@router.get("/calendar/{customer}.ics")
def customer_feed(customer: str, runtime: RuntimeDep, token: str = "") -> Response:
    """Approved and completed changes of the last 90 days and the future; cancelled ones too."""
    try:
        code = parse_customer_code(customer)
        mapping = runtime.directory.get(code)
    except (InvalidInputError, NotFoundError):
        return _not_found()
    if not feed_tokens(runtime).matches(code, token):
        return _not_found()
    now = runtime.clock.now()
    body = calendar_feed(
        feed_entries(runtime.windows, code, now=now),
        customer_code=code,
        customer_name=mapping.customer_name,
        email_config=runtime.config.email_config,
        now=now,
    )
    headers = {
        "content-disposition": f'inline; filename="{code}.ics"',
        "cache-control": "private, max-age=300",
        "referrer-policy": "no-referrer",
    }
    return Response(body, media_type="text/calendar; charset=utf-8", headers=headers)

"""What the change view and the approvals page show of customer sign-offs and calendar feeds."""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from changecast.access.signoff import CustomerAnswer, CustomerSignoff, answers, read_signoffs
from changecast.bootstrap import Runtime
from changecast.changes.models import Change, ChangeStatus, ChangeSummary
from changecast.errors import ChangecastError, NotFoundError
from changecast.web.pages.calendar_feed import webcal_urls


def customer_names(runtime: Runtime, codes: Iterable[str]) -> dict[str, str]:
    names = {}
    for code in codes:
        try:
            names[code] = runtime.directory.get(code).customer_name
        except NotFoundError:
            names[code] = code
    return names


def signoffs_for(runtime: Runtime, change: Change) -> list[CustomerSignoff]:
    """Each customer's answer on the change's latest version (every one: no answer yet)."""
    records = read_signoffs(runtime.store, change.change_id, change.version)
    names = customer_names(runtime, change.customer_codes)
    return answers(change.customer_codes, change.version, records, names)


def signoff_context(runtime: Runtime, change: Change) -> dict[str, Any]:
    """The change view's sign-off section and the calendar feeds of its customers."""
    if change.status is ChangeStatus.DRAFT:
        return {"signoffs": None, "feeds": []}
    return {
        "signoffs": signoffs_for(runtime, change),
        "signoff_required": runtime.config.require_customer_signoff,
        "feeds": feed_links(runtime, change.customer_codes),
    }


def feed_links(runtime: Runtime, codes: Iterable[str]) -> list[dict[str, str]]:
    """``webcal://`` links, one per customer (tokens made on first use)."""
    names = customer_names(runtime, codes)
    urls = webcal_urls(runtime, names)
    return [{"code": c, "name": n, "url": urls[c]} for c, n in names.items()]


def answers_by_change(
    runtime: Runtime, items: list[ChangeSummary]
) -> dict[str, dict[str, CustomerAnswer]]:
    """For the approvals page: change id → customer → answer on its current version."""

    def one(item: ChangeSummary) -> tuple[str, dict[str, CustomerAnswer]]:
        try:
            records = read_signoffs(runtime.store, item.change_id, item.version)
        except ChangecastError:
            return item.change_id, {}
        found = answers(item.customer_codes, item.version, records)
        return item.change_id, {a.customer_code: a.answer for a in found}

    if not items:
        return {}
    with ThreadPoolExecutor(max_workers=min(8, len(items))) as pool:
        return dict(pool.map(one, items))

"""Search page: free text plus status, customer, date range and creator; CSV and JSON export."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from changecast.access.models import Actor
from changecast.access.policy import own_customers
from changecast.actions import service
from changecast.actions.context import ChangeDeps
from changecast.changes.models import ChangeQuery, ChangeStatus, ChangeSummary
from changecast.errors import InvalidInputError, UnreadableDocumentError
from changecast.ids import ChangeId, parse_customer_code
from changecast.web.deps import ChangesDep, CurrentActor
from changecast.web.pages.templating import render
from changecast.web.pages.viewer import ViewerTz

log = structlog.get_logger()
router = APIRouter(include_in_schema=False)

PAGE_SIZE = 25
CSV_MAX = 10_000
JSON_MAX = 1_000
CSV_COLUMNS = [
    "changeId",
    "version",
    "status",
    "title",
    "customerCodes",
    "createdBy",
    "createdAt",
    "modifiedBy",
    "modifiedAt",
    "implementationStartUtc",
    "implementationEndUtc",
    "timezone",
]


@dataclass
class SearchForm:
    """The search criteria as typed, the query they make, and a message per bad field."""

    q: str = ""
    status: str = ""
    customer: str = ""
    date_from: str = ""
    date_to: str = ""
    creator: str = ""
    page: int = 1
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_request(cls, request: Request) -> SearchForm:
        params = request.query_params
        raw_page = params.get("page", "1")
        return cls(
            q=params.get("q", "").strip()[:200],
            status=params.get("status", "").strip(),
            customer=params.get("customer", "").strip(),
            date_from=params.get("from", "").strip(),
            date_to=params.get("to", "").strip(),
            creator=params.get("creator", "").strip().lower()[:200],
            page=int(raw_page)
            if raw_page.isascii() and raw_page.isdigit() and 0 < int(raw_page) <= 100_000
            else 1,
        )

    def params(self, **override: Any) -> str:
        """The query string of these criteria (for pagination and export links)."""
        values = {
            "q": self.q,
            "status": self.status,
            "customer": self.customer,
            "from": self.date_from,
            "to": self.date_to,
            "creator": self.creator,
            "page": str(self.page),
        }
        values |= {k: str(v) for k, v in override.items()}
        return urlencode({k: v for k, v in values.items() if v and not (k == "page" and v == "1")})

    def _day(self, name: str, raw: str, tz: str, *, end: bool) -> datetime | None:
        if not raw:
            return None
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            label = "From" if name == "from" else "To"
            self.errors[name] = f"{label}: {raw[:20]!r} is not a date like 2030-03-01"
            return None
        moment = datetime.combine(day, time.max if end else time.min, tzinfo=ZoneInfo(tz))
        return moment

    def query(self, tz: str, *, page: int | None = None, page_size: int = PAGE_SIZE) -> ChangeQuery:
        """The ChangeQuery of these criteria; bad fields are recorded in ``errors`` and ignored."""
        status = None
        if self.status:
            try:
                status = ChangeStatus(self.status)
            except ValueError:
                self.errors["status"] = f"Status: {self.status[:20]!r} is not a status"
        customer = None
        if self.customer:
            try:
                customer = parse_customer_code(self.customer)
            except InvalidInputError:
                self.errors["customer"] = f"Customer: {self.customer[:40]!r} is not a customer code"
        starts_from = self._day("from", self.date_from, tz, end=False)
        starts_to = self._day("to", self.date_to, tz, end=True)
        if starts_from and starts_to and starts_to < starts_from:
            self.errors["to"] = "To: must not be before From"
            starts_to = None
        return ChangeQuery(
            text=self.q or None,
            status=status,
            customer=customer,
            created_by=self.creator or None,
            starts_from=starts_from,
            starts_to=starts_to,
            page=page or self.page,
            page_size=page_size,
        )


def _pages(current: int, last: int) -> list[int]:
    """Page numbers to link: the first, the last, and two either side of the current one."""
    wanted = {1, last, *range(max(1, current - 2), min(last, current + 2) + 1)}
    return sorted(p for p in wanted if 1 <= p <= last)


@router.get("/search", response_class=HTMLResponse)
def search_page(
    request: Request, deps: ChangesDep, actor: CurrentActor, tz: ViewerTz
) -> HTMLResponse:
    form = SearchForm.from_request(request)
    result = service.find(deps=deps, actor=actor, query=form.query(tz))
    last = result.last_page  # a lower-bound total (PostgreSQL text search): one more page
    context = {
        "form": form,
        "result": result,
        "statuses": [s.value for s in ChangeStatus],
        "customers": own_customers(actor, deps.directory.codes),
        "pages": _pages(form.page, last),
        "last_page": last,
    }
    status = 422 if form.errors else 200  # the page, with a message at each bad field
    return render(request, "pages/search.html", actor, context, status=status)


def iter_results(
    deps: ChangeDeps, actor: Actor, form: SearchForm, tz: str, limit: int
) -> Iterator[ChangeSummary]:
    """Every result of the criteria, page after page, up to ``limit``."""
    page, seen = 1, 0
    while seen < limit:
        query = form.query(tz, page=page, page_size=200)
        items = service.find(deps=deps, actor=actor, query=query).items
        yield from items[: limit - seen]
        seen += len(items)
        if len(items) < 200:
            return
        page += 1


def _csv_cell(value: str) -> str:
    """Neutralise spreadsheet formulas (=, +, -, @ at the start of a cell)."""
    return "'" + value if value[:1] in {"=", "+", "-", "@", "\t", "\r"} else value


def _csv_row(item: ChangeSummary) -> list[str]:
    values = [
        item.change_id,
        str(item.version),
        item.status.value,
        item.title,
        ";".join(item.customer_codes),
        item.created_by,
        item.created_at.isoformat(),
        item.modified_by,
        item.modified_at.isoformat(),
        item.start_utc.isoformat() if item.start_utc else "",
        item.end_utc.isoformat() if item.end_utc else "",
        item.timezone or "",
    ]
    return [_csv_cell(v) for v in values]


@router.get("/search/export.csv")
def export_csv(request: Request, deps: ChangesDep, actor: CurrentActor, tz: ViewerTz) -> Response:
    """The whole result set (up to 10,000 rows), one row per change, with a header row."""
    form = SearchForm.from_request(request)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for item in iter_results(deps, actor, form, tz, CSV_MAX):
        writer.writerow(_csv_row(item))
    headers = {"content-disposition": 'attachment; filename="changes.csv"'}
    return Response(buffer.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)


@router.get("/search/export.json")
def export_json(request: Request, deps: ChangesDep, actor: CurrentActor, tz: ViewerTz) -> Response:
    """The whole result set (up to 1,000 changes) as a list of change records."""
    form = SearchForm.from_request(request)
    ids = [ChangeId(item.change_id) for item in iter_results(deps, actor, form, tz, JSON_MAX)]

    def load(change_id: ChangeId) -> dict[str, Any] | None:
        try:
            return service.get(deps=deps, actor=actor, change_id=change_id).to_json_dict()
        except UnreadableDocumentError as exc:  # reported and skipped, never the whole export
            log.error("export_skipped_unreadable", change_id=change_id, key=exc.key)
            return None

    with ThreadPoolExecutor(max_workers=deps.trigger_concurrency) as pool:
        documents = [doc for doc in pool.map(load, ids) if doc is not None]
    headers = {"content-disposition": 'attachment; filename="changes.json"'}
    body = json.dumps(documents, indent=2, ensure_ascii=False)
    return Response(body, media_type="application/json", headers=headers)


__all__ = ["SearchForm", "router"]

"""Dashboard: counts by status, recent changes, drafts, upcoming windows, delivery health.

Delivery health: each customer's bounce and complaint rates over 30 days, from the delivery read
model, beside SES's review thresholds; a CustomerManager sees only their own customers.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from changecast.access.models import Actor
from changecast.access.policy import WRITERS, may_see_all_customers
from changecast.actions import service
from changecast.actions.context import ChangeDeps
from changecast.changes.models import ChangeQuery, ChangeStatus, ChangeSummary
from changecast.delivery.models import (
    RATES_PERIOD_DAYS,
    SES_BOUNCE_REVIEW,
    SES_COMPLAINT_REVIEW,
    CustomerRates,
)
from changecast.delivery.ports import DeliveryReadModel
from changecast.web.deps import ChangesDep, CurrentActor, DeliveriesDep
from changecast.web.pages.survey_results import ROLLING, rolling_averages
from changecast.web.pages.templating import render

router = APIRouter(include_in_schema=False)

UPCOMING_DAYS = 14
UPCOMING_SHOWN = 10


def upcoming_windows(deps: ChangeDeps, actor: Actor) -> tuple[list[ChangeSummary], int]:
    """Submitted and approved changes whose window starts in the next 14 days, soonest first."""
    now = deps.clock.now()
    found: list[ChangeSummary] = []
    total = 0
    for status in (ChangeStatus.SUBMITTED, ChangeStatus.APPROVED):
        query = ChangeQuery(
            status=status,
            starts_from=now,
            starts_to=now + timedelta(days=UPCOMING_DAYS),
            page_size=50,
        )
        page = service.find(deps=deps, actor=actor, query=query)
        found += page.items
        total += page.total
    found.sort(key=lambda item: (item.start_utc is None, item.start_utc))
    return found[:UPCOMING_SHOWN], total


def needs(item: ChangeSummary, deps: ChangeDeps) -> list[str]:
    """What stops a draft from being submitted, or makes it look stale."""
    missing = []
    if not item.customer_codes:
        missing.append("choose customers")
    if item.start_utc is None:
        missing.append("set a schedule")
    elif item.start_utc < deps.clock.now():
        missing.append("window is in the past")
    return missing


def delivery_rates(
    deps: ChangeDeps, read_model: DeliveryReadModel, actor: Actor
) -> list[CustomerRates]:
    """Bounce and complaint rates of the customers ``actor`` may see, over the last 30 days."""
    scope = None if may_see_all_customers(actor) else frozenset(actor.customers)
    since = deps.clock.now() - timedelta(days=RATES_PERIOD_DAYS)
    return read_model.rates(since=since, customers=scope)


@router.get("/", response_class=HTMLResponse)
def dashboard(
    request: Request, deps: ChangesDep, read_model: DeliveriesDep, actor: CurrentActor
) -> HTMLResponse:
    stats = service.statistics(deps=deps, actor=actor)
    recent = service.find(deps=deps, actor=actor, query=ChangeQuery(page_size=8)).items
    drafts = service.my_changes(
        deps=deps, actor=actor, query=ChangeQuery(status=ChangeStatus.DRAFT, page_size=8)
    ).items
    upcoming, upcoming_total = upcoming_windows(deps, actor)
    now = deps.clock.now()
    context = {
        "stats": stats,
        "statuses": list(ChangeStatus),
        "recent": recent,
        "drafts": [(item, needs(item, deps)) for item in drafts],
        "upcoming": upcoming,
        "upcoming_total": upcoming_total,
        "upcoming_from": now.date().isoformat(),
        "upcoming_to": (now + timedelta(days=UPCOMING_DAYS)).date().isoformat(),
        "may_write": actor.role in WRITERS,
        "rates": delivery_rates(deps, read_model, actor),
        "rates_days": RATES_PERIOD_DAYS,
        "bounce_review": SES_BOUNCE_REVIEW,
        "complaint_review": SES_COMPLAINT_REVIEW,
        "survey_averages": rolling_averages(
            request.app.state.runtime,
            None if may_see_all_customers(actor) else frozenset(actor.customers),
        ),
        "survey_days": ROLLING.days,
    }
    return render(request, "pages/dashboard.html", actor, context)

"""The per-customer delivery grid (an htmx fragment, polling while pending) and its retry button.

Both use the deliveries API's functions: ``delivery.status.change_deliveries`` and ``redeliver``.
The polled grid reads the index alone (the change's indexed document and the delivery read
model): no S3 request per poll.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from changecast.access.models import Actor
from changecast.access.policy import may_act, require_change_action
from changecast.actions import service
from changecast.actions.context import ChangeDeps
from changecast.changes.models import Action, Change, ChangeStatus
from changecast.delivery.models import DeliveryFailure, DeliveryRecord
from changecast.delivery.ports import DeliveryReadModel
from changecast.delivery.redelivery import redeliver
from changecast.delivery.status import ChangeDeliveries, change_deliveries, recipient_outcomes
from changecast.distribution.models import DistributionEvent
from changecast.errors import ConflictError, NotFoundError
from changecast.ids import parse_customer_code
from changecast.web.deps import (
    ChangeIdPath,
    ChangesDep,
    CurrentActor,
    DeliveriesDep,
    LedgerDep,
    RuntimeDep,
)
from changecast.web.pages.templating import render

router = APIRouter(include_in_schema=False)

NEWEST_FIRST = list(reversed(DistributionEvent))


@dataclass(frozen=True)
class DeliveryRow:
    """One customer's delivery of one event (of the current version, or an older one shown)."""

    customer: str
    name: str
    event: DistributionEvent
    state: str  # delivered, partial, failed, superseded, or pending (no result yet)
    record: DeliveryRecord | None = None
    failures: list[DeliveryFailure] = field(default_factory=list)
    dead_lettered: bool = False
    version: int | None = None
    """Set for an event of an older version than the change's current one."""
    superseded_by: str | None = None

    @property
    def word(self) -> str:
        """The one word the portal uses for this state (the API's ``state`` says less)."""
        return state_word(self.state, self.record)

    @property
    def retryable(self) -> bool:
        """A retry can help: the worker reported a failure, or the trigger is dead-lettered.

        Never a superseded one: a newer version's email replaced it.
        """
        if self.superseded_by or self.state == "superseded":
            return False
        return self.dead_lettered or self.state in {"failed", "partial"}


STATE_WORDS = {
    "pending": "queued",
    "failed": "failed",
    "partial": "partly failed",
    "superseded": "superseded",
}


def state_word(state: str, record: DeliveryRecord | None) -> str:
    """Pure: queued, sent, delivered, bounced, complained, failed, partly failed, superseded.

    The worker's ``delivered`` state means it handed every message to SES: that is *sent*; the
    message is *delivered* once SES says every one arrived, *bounced* or *complained* once SES
    says so of any.
    """
    if state != "delivered" or record is None:
        return STATE_WORDS.get(state, state)
    if record.complained:
        return "complained"
    if record.bounced:
        return "bounced"
    if record.sent == 0:
        return "already sent" if record.already_sent else "nothing to send"
    if record.delivered >= record.sent:
        return "delivered"
    return "sent"


def _name(deps: ChangeDeps, code: str) -> str:
    try:
        return deps.directory.get(code).customer_name
    except NotFoundError:
        return code


def delivery_rows(deps: ChangeDeps, deliveries: ChangeDeliveries) -> list[DeliveryRow]:
    """Newest event first, then the change's customer order."""
    rows = [
        DeliveryRow(
            customer=customer.customer_code,
            name=_name(deps, customer.customer_code),
            event=item.event,
            state=item.state.value,
            record=item.record,
            failures=list(item.record.failures) if item.record and not item.superseded_by else [],
            dead_lettered=item.dead_lettered,
            version=item.version if item.version != deliveries.version else None,
            superseded_by=item.superseded_by,
        )
        for customer in deliveries.customers
        for item in customer.current
    ]
    return sorted(rows, key=lambda row: (row.version is not None, NEWEST_FIRST.index(row.event)))


def history_of(deliveries: ChangeDeliveries | None) -> list[DeliveryRecord]:
    """Every result of every version, for the timeline."""
    if deliveries is None:
        return []
    return [record for customer in deliveries.customers for record in customer.history]


def deliveries_of(
    read_model: DeliveryReadModel, change: Change, now: datetime | None = None
) -> ChangeDeliveries | None:
    if change.status is ChangeStatus.DRAFT:
        return None
    return change_deliveries(change, read_model=read_model, now=now)


def grid_context(
    deps: ChangeDeps, actor: Actor, change: Change, deliveries: ChangeDeliveries | None
) -> dict[str, object]:
    rows = delivery_rows(deps, deliveries) if deliveries is not None else []
    return {
        "change": change,
        "deliveries": rows,
        "pending": any(row.state == "pending" for row in rows),
        "retry_event": rows[0].event if rows else None,  # redelivery re-queues the newest
        "may_retry": set(change.customer_codes)
        if may_act(actor, Action.APPROVE, change)
        else set(),
    }


@router.get("/changes/{change_id}/deliveries", response_class=HTMLResponse)
def deliveries_fragment(
    request: Request,
    change_id: ChangeIdPath,
    deps: ChangesDep,
    read_model: DeliveriesDep,
    actor: CurrentActor,
) -> HTMLResponse:
    """The grid alone, for htmx polling: from the index only (no S3 request)."""
    change = service.get_indexed(deps=deps, actor=actor, change_id=change_id)
    found = deliveries_of(read_model, change, deps.clock.now())
    context = grid_context(deps, actor, change, found)
    return render(request, "partials/_deliveries.html", actor, context)


@router.get("/changes/{change_id}/deliveries/{code}/recipients", response_class=HTMLResponse)
def recipients_drilldown(
    request: Request,
    change_id: ChangeIdPath,
    code: str,
    deps: ChangesDep,
    ledger: LedgerDep,
    actor: CurrentActor,
) -> HTMLResponse:
    """One customer's recipients of the current version: address, outcome, reason, time.

    Only for a change the actor sees in full (``get_indexed`` requires ``Visibility.FULL``), so a
    CustomerManager never sees another customer's recipients; an htmx request gets the fragment.
    """
    change = service.get_indexed(deps=deps, actor=actor, change_id=change_id)
    customer = parse_customer_code(code)
    if customer not in change.customer_codes:
        raise NotFoundError(f"customer {customer} is not on change {change_id}")
    entries = ledger.entries_for(change.change_id, customer)
    context = {
        "change": change,
        "customer": customer,
        "customer_name": _name(deps, customer),
        "recipients": recipient_outcomes(entries, change.version),
    }
    fragment = request.headers.get("hx-request") == "true"
    name = "partials/_recipients.html" if fragment else "pages/delivery_recipients.html"
    return render(request, name, actor, context)


@router.post("/changes/{change_id}/deliveries/{code}/retry")
def retry_customer(
    request: Request,
    change_id: ChangeIdPath,
    code: str,
    deps: ChangesDep,
    runtime: RuntimeDep,
    actor: CurrentActor,
) -> Response:
    """Queue the customer's current triggers again; the ledger skips recipients already sent."""
    change = service.get(deps=deps, actor=actor, change_id=change_id)
    customer = parse_customer_code(code)
    require_change_action(actor, Action.APPROVE, change, adding=[customer])
    if change.status is ChangeStatus.DRAFT:
        raise ConflictError(f"change {change_id} is a draft; drafts send no mail")
    queued = redeliver(
        store=runtime.store,
        queues=runtime.trigger_queue,
        bucket=runtime.config.s3_config.bucket_name,
        change=change,
        customer=customer,
        now=runtime.clock.now(),
    )
    if request.headers.get("hx-request") != "true":
        return RedirectResponse(f"/changes/{change_id}#deliveries", status_code=303)
    found = deliveries_of(runtime.deliveries, change, deps.clock.now())
    context = grid_context(deps, actor, change, found)
    context |= {"retried": customer, "queued": len(queued)}
    return render(request, "partials/_deliveries.html", actor, context)

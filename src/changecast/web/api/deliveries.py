"""Delivery status per customer, and re-driving one customer's delivery."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status

from changecast.access.policy import require_change_action
from changecast.actions import service
from changecast.changes.models import Action, ChangeStatus
from changecast.delivery.export import deliveries_csv
from changecast.delivery.redelivery import redeliver
from changecast.delivery.status import ChangeDeliveries, change_deliveries, with_recipients
from changecast.errors import ConflictError
from changecast.ids import CUSTOMER_CODE_PATTERN
from changecast.web.api.schemas import ERRORS, Redelivery
from changecast.web.deps import (
    ChangeIdPath,
    ChangesDep,
    CurrentActor,
    DeliveriesDep,
    LedgerDep,
    RuntimeDep,
)

router = APIRouter(prefix="/api", tags=["deliveries"], responses=ERRORS)


@router.get(
    "/changes/{change_id}/deliveries",
    response_model=ChangeDeliveries,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
def deliveries(
    change_id: ChangeIdPath,
    deps: ChangesDep,
    read_model: DeliveriesDep,
    ledger: LedgerDep,
    actor: CurrentActor,
    recipients: Annotated[
        bool, Query(description="add each customer's recipients: address, outcome, reason, time")
    ] = False,
    format_: Annotated[Literal["json", "csv"], Query(alias="format")] = "json",
) -> ChangeDeliveries | Response:
    """Each customer's state from its events still current (pending until its worker reports).

    An event the change has moved past shows ``superseded`` with ``supersededBy`` and does not
    count (``delivery.status``). Per event: sent, delivered, bounced, complained, failed. Only
    for a change the caller sees in full (a CustomerManager never sees another customer's), so
    the recipients too. Served from the index (the delivery read model, no S3 request);
    ``recipients=1`` adds one ledger query per customer. ``format=csv``: one row per event, or
    per recipient with ``recipients=1``.
    """
    change = service.get_indexed(deps=deps, actor=actor, change_id=change_id)
    found = change_deliveries(change, read_model=read_model, now=deps.clock.now())
    if recipients:
        found = with_recipients(found, ledger=ledger)
    if format_ == "csv":
        name = f"deliveries-{change.change_id}-v{change.version}.csv"
        headers = {"content-disposition": f'attachment; filename="{name}"'}
        return Response(
            deliveries_csv(found), media_type="text/csv; charset=utf-8", headers=headers
        )
    return found


@router.post("/changes/{change_id}/redeliver", status_code=status.HTTP_202_ACCEPTED)
def redeliver_customer(
    change_id: ChangeIdPath,
    deps: ChangesDep,
    runtime: RuntimeDep,
    actor: CurrentActor,
    customer: Annotated[str, Query(pattern=CUSTOMER_CODE_PATTERN)],
) -> Redelivery:
    """Queue the customer's current triggers again; recipients already sent are skipped."""
    change = service.get(deps=deps, actor=actor, change_id=change_id)
    require_change_action(actor, Action.APPROVE, change, adding=[customer])
    if change.status is ChangeStatus.DRAFT:
        raise ConflictError(f"change {change_id} is a draft; drafts send no mail")
    keys = redeliver(
        store=runtime.store,
        queues=runtime.trigger_queue,
        bucket=runtime.config.s3_config.bucket_name,
        change=change,
        customer=customer,
        now=runtime.clock.now(),
    )
    return Redelivery(change_id=change.change_id, customer=customer, queued=keys)

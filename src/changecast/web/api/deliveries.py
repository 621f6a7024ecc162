"""Delivery status per customer, and re-driving one customer's delivery."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from changecast.access.policy import require_change_action
from changecast.changes import service
from changecast.changes.models import Action, ChangeStatus
from changecast.delivery.status import ChangeDeliveries, change_deliveries
from changecast.errors import ConflictError
from changecast.ids import CUSTOMER_CODE_PATTERN
from changecast.web.api.schemas import ERRORS, Redelivery
from changecast.web.deps import ChangeIdPath, ChangesDep, CurrentActor, RuntimeDep
from changecast.workers.redrive import redeliver

router = APIRouter(prefix="/api", tags=["deliveries"], responses=ERRORS)


@router.get("/changes/{change_id}/deliveries")
def deliveries(change_id: ChangeIdPath, deps: ChangesDep, actor: CurrentActor) -> ChangeDeliveries:
    """Each customer's state for the current version (pending until its worker reports).

    Only for a change the caller sees in full: a CustomerManager never sees another customer's.
    """
    change = service.get(deps=deps, actor=actor, change_id=change_id)
    return change_deliveries(change, store=deps.archive.store)


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
    keys = redeliver(runtime=runtime, change=change, customer=customer)
    return Redelivery(change_id=change.change_id, customer=customer, queued=keys)

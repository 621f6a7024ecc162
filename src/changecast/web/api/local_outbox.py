"""Local mode only: ``GET /api/local/outbox`` lists what the embedded SES sent for a customer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from changecast.access.policy import require_outbox
from changecast.ids import CUSTOMER_CODE_PATTERN
from changecast.local.outbox import OutboxItem, read_outbox
from changecast.web.api.schemas import ERRORS
from changecast.web.deps import CurrentActor, RuntimeDep

router = APIRouter(prefix="/api/local", tags=["local"], responses=ERRORS)


@router.get("/outbox")
def outbox(
    runtime: RuntimeDep,
    actor: CurrentActor,
    customer: Annotated[str, Query(pattern=CUSTOMER_CODE_PATTERN)],
) -> list[OutboxItem]:
    """Every message the embedded SES accepted in the customer's account, oldest first.

    A CustomerManager reads only their own customers' outboxes.
    """
    require_outbox(actor, customer)
    return read_outbox(runtime, customer)

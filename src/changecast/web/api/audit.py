"""The audit trail for Auditors: ``GET /api/audit`` and ``GET /api/audit/export`` (CSV, JSON)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from changecast.audit import service
from changecast.audit.export import csv_chunks, json_chunks
from changecast.audit.models import AuditAction, AuditPage, AuditQuery
from changecast.ids import parse_change_id
from changecast.web.api.schemas import ERRORS
from changecast.web.deps import CurrentActor, RuntimeDep

router = APIRouter(prefix="/api", tags=["audit"], responses=ERRORS)


def audit_query(
    from_: Annotated[datetime | None, Query(alias="from")] = None,
    to: Annotated[datetime | None, Query()] = None,
    actor: Annotated[str | None, Query(max_length=200)] = None,
    change: Annotated[str | None, Query(max_length=36)] = None,
    action: Annotated[AuditAction | None, Query()] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(alias="pageSize", ge=1, le=500)] = 50,
) -> AuditQuery:
    return AuditQuery(
        starts_from=from_,
        ends_before=to,
        actor=actor,
        change_id=parse_change_id(change) if change else None,
        action=action,
        page=page,
        page_size=page_size,
    )


QueryDep = Annotated[AuditQuery, Depends(audit_query)]


@router.get("/audit")
def browse(query: QueryDep, runtime: RuntimeDep, actor: CurrentActor) -> AuditPage:
    """Audit events, newest first; filters: ``from`` <= at < ``to``, actor, change, action."""
    return service.browse(index=runtime.audit_index, actor=actor, query=query)


EXPORT_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The events: a CSV with a header row, or a JSON array of audit events",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/json": {
                "schema": {"type": "array", "items": {"$ref": "#/components/schemas/AuditEvent"}}
            },
        },
    }
}


@router.get("/audit/export", response_class=StreamingResponse, responses=EXPORT_RESPONSE)
def export(
    query: QueryDep,
    runtime: RuntimeDep,
    actor: CurrentActor,
    format_: Annotated[Literal["csv", "json"], Query(alias="format")] = "csv",
) -> StreamingResponse:
    """Every matching event, oldest first, as a CSV or JSON download."""
    events = service.export(
        index=runtime.audit_index,
        sink=runtime.audit,
        clock=runtime.clock,
        actor=actor,
        query=query,
        fmt=format_,
    )
    chunks = csv_chunks(events) if format_ == "csv" else json_chunks(events)
    media = "text/csv; charset=utf-8" if format_ == "csv" else "application/json"
    stamp = runtime.clock.now().strftime("%Y%m%dT%H%M%SZ")
    disposition = f'attachment; filename="changecast-audit-{stamp}.{format_}"'
    return StreamingResponse(chunks, media_type=media, headers={"content-disposition": disposition})

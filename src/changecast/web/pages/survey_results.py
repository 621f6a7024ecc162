"""Survey results: per customer on the change view, a CSV export, and the dashboard's averages.

Read from the index (``survey_answers``), never from S3, so the change view makes no extra S3
request. The export is a full-visibility read of the change, like every other export.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from changecast.access.policy import Visibility
from changecast.access.survey import CustomerSurvey, by_customer
from changecast.actions import service
from changecast.bootstrap import Runtime
from changecast.changes.models import Change, ChangeStatus
from changecast.errors import PermissionDeniedError
from changecast.web.deps import ChangeIdPath, ChangesDep, CurrentActor, RuntimeDep

router = APIRouter(include_in_schema=False)

ROLLING = timedelta(days=90)
"""The dashboard's rolling window for each customer's average rating."""
CSV_COLUMNS = ("changeId", "customerCode", "recipientHash", "rating", "comment", "answeredAt")


def survey_context(runtime: Runtime, change: Change) -> dict[str, Any]:
    """``surveys``: per-customer results of a completed change (None for any other)."""
    if change.status is not ChangeStatus.COMPLETED or not runtime.has_database:
        return {"surveys": None}
    answers = runtime.surveys.for_change(change.change_id)
    return {
        "surveys": {
            "customers": by_customer(answers),
            "comments": [a for a in answers if a.comment],
            "total": len(answers),
        }
    }


def rolling_averages(runtime: Runtime, actor_customers: frozenset[str] | None) -> list[Any]:
    """Each visible customer's average over the rolling window (the dashboard's card)."""
    if not runtime.has_database:
        return []
    found: list[CustomerSurvey] = runtime.surveys.averages(since=runtime.clock.now() - ROLLING)
    return [s for s in found if actor_customers is None or s.customer_code in actor_customers]


@router.get("/changes/{change_id}/surveys.csv")
def export_surveys(
    request: Request,
    change_id: ChangeIdPath,
    deps: ChangesDep,
    actor: CurrentActor,
    runtime: RuntimeDep,
) -> Response:
    """Every answer of the change as CSV (recipients as hashes: no addresses leave the store)."""
    del request
    change, seen = service.look(deps=deps, actor=actor, change_id=change_id)
    if seen is not Visibility.FULL:
        raise PermissionDeniedError("only someone who sees every customer of it may export")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for answer in runtime.surveys.for_change(change.change_id):
        writer.writerow(
            [
                answer.change_id,
                answer.customer_code,
                answer.recipient_hash,
                answer.rating,
                _cell(answer.comment),
                answer.answered_at.isoformat(),
            ]
        )
    name = f"surveys-{change.change_id}.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


def _cell(text: str) -> str:
    """A comment as a CSV cell that a spreadsheet never runs as a formula."""
    return "'" + text if text[:1] in {"=", "+", "-", "@", "\t", "\r"} else text

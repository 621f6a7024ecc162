"""``changecast ses preflight``: whether each customer's SES can send a change's emails now.

Exit 0 when every customer passes (warnings allowed), 1 when one fails a check.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from changecast.cli.fanout import CustomerReport, CustomerTask, Fanout, fanout_command
from changecast.cli.tables import folding_table, whole
from changecast.customers.models import CustomerMapping
from changecast.delivery.preflight import CheckStatus, PreflightReport
from changecast.delivery.router import Topics, route
from changecast.distribution.models import DistributionEvent
from changecast.errors import ConflictError, InvalidInputError

EVENTS = (DistributionEvent.SUBMITTED.value, DistributionEvent.APPROVED.value)
EventOpt = Annotated[
    str,
    typer.Option(
        "--event",
        help="whose emails to check: submitted (approval requests) or approved "
        "(announcement and calendar invite, the largest send)",
    ),
]
COLOURS = {CheckStatus.PASS: "green", CheckStatus.WARN: "yellow", CheckStatus.FAIL: "red"}


class PreflightFailedError(ConflictError):
    """The customer fails at least one preflight check."""


def topics_of(event: str, topics: Topics) -> list[str]:
    if event not in EVENTS:
        raise InvalidInputError(f"--event must be one of {', '.join(EVENTS)}, not {event[:40]!r}")
    planned = route(DistributionEvent(event), was_approved=False, invite_sent=False, topics=topics)
    return [planned.topic] + ([planned.calendar_topic] if planned.calendar else [])


def report_data(report: PreflightReport) -> dict[str, Any]:
    """The report as ``--output json`` shows it (camelCase)."""
    return {
        "status": report.status.value,
        "checkedAt": report.checked_at.isoformat(),
        "checks": [
            {"check": c.name.value, "status": c.status.value, "reason": c.reason}
            for c in report.checks
        ],
    }


def report_table(report: PreflightReport) -> Table:
    table = folding_table(
        whole("check"), "status", "reason", title=f"preflight {report.customer_code}"
    )
    for check in report.checks:
        colour = COLOURS[check.status]
        table.add_row(check.name.value, f"[{colour}]{check.status.value}[/{colour}]", check.reason)
    return table


def preflight(fan: Fanout, event: EventOpt = DistributionEvent.APPROVED.value) -> CustomerTask:
    """Sender and DKIM verified, sending on, out of the sandbox, quota and rate, per customer."""
    runtime = fan.aws.runtime
    topics = topics_of(event, Topics.from_ses_config(runtime.ses_config))
    checker = runtime.preflight

    def task(mapping: CustomerMapping, report: CustomerReport) -> None:
        found = checker.check(mapping, topics)
        report.data = report_data(found)
        report.print(report_table(found))
        if not found.ok:
            raise PreflightFailedError(f"preflight failed: {found.summary()}")
        report.detail = found.summary()

    return task


def register(app: typer.Typer) -> None:
    """Add ``preflight`` to the ``ses`` group."""
    app.command("preflight")(fanout_command()(preflight))

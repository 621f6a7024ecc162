"""``changecast ses suppression …``: each customer's account-level SES suppression list."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from changecast.cli.customer_aws import CustomerAws
from changecast.cli.fanout import (
    AllOpt,
    ConcurrencyOpt,
    CustomerReport,
    CustomersOpt,
    DryRunOpt,
    FanoutOptions,
    run_for_customers,
)
from changecast.cli.ses_contacts import EmailsArg, require_emails
from changecast.cli.state import OutputFormat, OutputOpt
from changecast.contacts.models import SuppressionReason
from changecast.customers.models import CustomerMapping

app = typer.Typer(help="The account-level suppression list.", no_args_is_help=True)


@app.command("list")
def list_suppressed(
    ctx: typer.Context,
    customer: CustomersOpt = None,
    all_customers: AllOpt = False,
    concurrency: ConcurrencyOpt = None,
    output: OutputOpt = OutputFormat.TEXT,
) -> None:
    """Every suppressed address (all pages)."""
    aws = CustomerAws.of(ctx)

    def task(mapping: CustomerMapping, report: CustomerReport) -> None:
        found = aws.ses(mapping).list_suppressed()
        table = Table("email", "reason", "since")
        for item in found:
            since = f"{item.last_update:%Y-%m-%d %H:%M}" if item.last_update else ""
            table.add_row(item.email, item.reason.value, since)
        report.print(table)
        report.detail = f"{len(found)} suppressed"
        report.data = {"suppressed": [s.model_dump(mode="json") for s in found]}

    options = FanoutOptions.of(customer, all_customers, concurrency, output)
    run_for_customers(
        aws.runtime.directory, options, "ses suppression list", task, prepare=aws.warm
    )


@app.command("add")
def add(
    ctx: typer.Context,
    emails: EmailsArg,
    reason: Annotated[
        SuppressionReason, typer.Option("--reason", case_sensitive=False, help="why")
    ] = SuppressionReason.COMPLAINT,
    customer: CustomersOpt = None,
    all_customers: AllOpt = False,
    concurrency: ConcurrencyOpt = None,
    dry_run: DryRunOpt = False,
    output: OutputOpt = OutputFormat.TEXT,
) -> None:
    """Suppress addresses: SES will not send to them from this account."""
    aws = CustomerAws.of(ctx)
    wanted = require_emails(emails)

    def task(mapping: CustomerMapping, report: CustomerReport) -> None:
        ses = aws.ses(mapping)
        if not dry_run:
            for email in wanted:
                ses.put_suppressed(email, reason)
        verb = "would suppress" if dry_run else "suppressed"
        report.detail = f"{verb} {len(wanted)} ({reason.value})"
        report.data = {"emails": wanted, "reason": reason.value, "applied": not dry_run}

    options = FanoutOptions.of(customer, all_customers, concurrency, output)
    run_for_customers(aws.runtime.directory, options, "ses suppression add", task, prepare=aws.warm)


@app.command("remove")
def remove(
    ctx: typer.Context,
    emails: EmailsArg,
    customer: CustomersOpt = None,
    all_customers: AllOpt = False,
    concurrency: ConcurrencyOpt = None,
    dry_run: DryRunOpt = False,
    output: OutputOpt = OutputFormat.TEXT,
) -> None:
    """Take addresses off the suppression list (addresses not on it are reported)."""
    aws = CustomerAws.of(ctx)
    wanted = require_emails(emails)

    def task(mapping: CustomerMapping, report: CustomerReport) -> None:
        ses = aws.ses(mapping)
        found = [e for e in wanted if ses.get_suppressed(e) is not None]
        if not dry_run:
            for email in found:
                ses.delete_suppressed(email)
        verb = "would remove" if dry_run else "removed"
        missing = len(wanted) - len(found)
        report.detail = f"{verb} {len(found)}" + (
            f"; {missing} were not suppressed" if missing else ""
        )
        report.data = {"removed": found, "applied": not dry_run}

    options = FanoutOptions.of(customer, all_customers, concurrency, output)
    run_for_customers(
        aws.runtime.directory, options, "ses suppression remove", task, prepare=aws.warm
    )

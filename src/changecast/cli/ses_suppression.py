"""``changecast ses suppression …``: each customer's suppressed addresses.

Two lists: ours (in the ledger table; the send path never mails an address on it, and the SES
events worker adds hard bounces and complaints) and the account-level SES suppression list.
``list`` shows both, ``add`` and ``remove`` change both. moto has no SES suppression list, so in
local mode only ours answers (the SES side is reported as unavailable).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from changecast.cli.customer_aws import CustomerAws
from changecast.cli.fanout import CustomerReport, CustomerTask, Fanout, fanout_command
from changecast.cli.ses_contacts import EmailsArg, require_emails
from changecast.cli.tables import folding_table, whole
from changecast.contacts.models import SuppressionReason
from changecast.customers.models import CustomerMapping
from changecast.errors import ChangecastError

if TYPE_CHECKING:
    from changecast.aws.dynamodb import DynamoDbSuppressions

app = typer.Typer(help="The account-level suppression list.", no_args_is_help=True)


def ours(aws: CustomerAws) -> DynamoDbSuppressions:
    """Our suppression records, in the ledger table."""
    from changecast.aws.dynamodb import DynamoDbSuppressions

    ledger = aws.runtime.ledger
    return DynamoDbSuppressions(ledger.client, ledger.table)


def _ses_note(exc: ChangecastError) -> str:
    return f"SES account list unavailable: {exc.message}"[:200]


@app.command("list")
@fanout_command()
def list_suppressed(fan: Fanout) -> CustomerTask:
    """Every suppressed address: ours and the SES account list's (all pages)."""
    aws = fan.aws

    def task(mapping: CustomerMapping, report: CustomerReport) -> None:
        rows: dict[str, dict[str, Any]] = {}
        for record in ours(aws).suppressed(mapping.customer_code):
            rows[record.folded] = {
                "email": record.email,
                "reason": record.reason.value,
                "since": record.at.isoformat(),
                "sources": ["changecast"],
                "detail": record.detail,
            }
        note = ""
        try:
            listed = aws.ses(mapping).list_suppressed()
        except ChangecastError as exc:
            listed, note = [], _ses_note(exc)
        for item in listed:
            row = rows.setdefault(
                item.email.lower(),
                {
                    "email": item.email,
                    "reason": item.reason.value,
                    "since": item.last_update.isoformat() if item.last_update else None,
                    "sources": [],
                    "detail": "",
                },
            )
            row["sources"].append("ses")
        table = folding_table(whole("email"), "reason", "since", "lists", "detail")
        for row in rows.values():
            since = (row["since"] or "")[:16].replace("T", " ")
            table.add_row(
                row["email"], row["reason"], since, "+".join(row["sources"]), row["detail"]
            )
        report.print(table)
        report.detail = f"{len(rows)} suppressed" + (f"; {note}" if note else "")
        report.data = {"suppressed": list(rows.values()), "sesList": note or "ok"}

    return task


@app.command("add")
@fanout_command(dry_run=True)
def add(
    fan: Fanout,
    emails: EmailsArg,
    reason: Annotated[
        SuppressionReason, typer.Option("--reason", case_sensitive=False, help="why")
    ] = SuppressionReason.COMPLAINT,
) -> CustomerTask:
    """Suppress addresses: neither we nor SES will send to them from this account."""
    from changecast.delivery.suppression import SuppressionRecord

    aws, dry_run = fan.aws, fan.dry_run
    wanted = require_emails(emails)

    def task(mapping: CustomerMapping, report: CustomerReport) -> None:
        note = ""
        if not dry_run:
            now = datetime.now(UTC)
            for email in wanted:
                record = SuppressionRecord(
                    mapping.customer_code, email, reason, now, "added by ses suppression add"
                )
                ours(aws).suppress(record)
            try:
                ses = aws.ses(mapping)
                for email in wanted:
                    ses.put_suppressed(email, reason)
            except ChangecastError as exc:
                note = _ses_note(exc)
        verb = "would suppress" if dry_run else "suppressed"
        report.detail = f"{verb} {len(wanted)} ({reason.value})" + (f"; {note}" if note else "")
        report.data = {
            "emails": wanted,
            "reason": reason.value,
            "applied": not dry_run,
            "sesList": note or "ok",
        }

    return task


@app.command("remove")
@fanout_command(dry_run=True)
def remove(fan: Fanout, emails: EmailsArg) -> CustomerTask:
    """Take addresses off both lists (addresses on neither are reported); we mail them again."""
    aws, dry_run = fan.aws, fan.dry_run
    wanted = require_emails(emails)

    def task(mapping: CustomerMapping, report: CustomerReport) -> None:
        code = mapping.customer_code
        mine = {r.folded for r in ours(aws).suppressed(code)}
        note = ""
        try:
            ses = aws.ses(mapping)
            on_ses = [e for e in wanted if ses.get_suppressed(e) is not None]
        except ChangecastError as exc:
            ses, on_ses, note = None, [], _ses_note(exc)
        found = [e for e in wanted if e.lower() in mine or e in on_ses]
        if not dry_run:
            for email in wanted:
                if email.lower() in mine:
                    ours(aws).unsuppress(code, email)
            if ses is not None:
                for email in on_ses:
                    ses.delete_suppressed(email)
        verb = "would remove" if dry_run else "removed"
        missing = len(wanted) - len(found)
        report.detail = (
            f"{verb} {len(found)}"
            + (f"; {missing} were not suppressed" if missing else "")
            + (f"; {note}" if note else "")
        )
        report.data = {"removed": found, "applied": not dry_run, "sesList": note or "ok"}

    return task

"""``ses contacts backup --to FILE`` and ``restore --from FILE``: JSON, preferences exactly.

With several customers the path must hold ``{customer}``, which becomes each customer's code.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from changecast.cli.contact_views import contact_plan_json, contact_plan_table
from changecast.cli.customer_aws import CustomerAws
from changecast.cli.fanout import (
    AllOpt,
    ConcurrencyOpt,
    CustomerReport,
    CustomersOpt,
    DryRunOpt,
    FanoutOptions,
    run_for_customers,
    select_customers,
)
from changecast.cli.state import OutputFormat, OutputOpt
from changecast.contacts import service
from changecast.contacts.backup import BackupFileError, parse_backup
from changecast.contacts.models import ContactBackup
from changecast.customers.directory import CustomerDirectory
from changecast.customers.models import CustomerMapping
from changecast.errors import ConflictError

PLACEHOLDER = "{customer}"


def paths_for(
    directory: CustomerDirectory, options: FanoutOptions, template: Path
) -> dict[str, Path]:
    """Each chosen customer's file; several customers need ``{customer}`` in the path."""
    chosen = select_customers(directory, options.customers, options.all_customers)
    text = str(template)
    if len(chosen) > 1 and PLACEHOLDER not in text:
        raise BackupFileError(
            f"{text}: several customers are chosen, so the path must contain {PLACEHOLDER}"
        )
    return {m.customer_code: Path(text.replace(PLACEHOLDER, m.customer_code)) for m in chosen}


def write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def backup(
    ctx: typer.Context,
    to: Annotated[Path, typer.Option("--to", help="file to write ({customer} for several)")],
    customer: CustomersOpt = None,
    all_customers: AllOpt = False,
    concurrency: ConcurrencyOpt = None,
    output: OutputOpt = OutputFormat.TEXT,
) -> None:
    """Save each list's topics and every contact's preferences to a JSON file."""
    aws = CustomerAws.of(ctx)
    options = FanoutOptions.of(customer, all_customers, concurrency, output)
    paths = paths_for(aws.runtime.directory, options, to)

    def task(mapping: CustomerMapping, report: CustomerReport) -> None:
        saved = service.backup_contacts(
            ses=aws.ses(mapping),
            customer=mapping.customer_code,
            list_name=mapping.contact_list_name,
        )
        path = paths[mapping.customer_code]
        write_atomically(path, saved.model_dump_json(indent=2) + "\n")
        report.detail = f"{len(saved.contacts)} contacts to {path}"
        report.data = {"file": str(path), "contacts": len(saved.contacts)}
        report.print(report.detail)

    run_for_customers(aws.runtime.directory, options, "ses contacts backup", task, prepare=aws.warm)


def read_backups(paths: dict[str, Path]) -> dict[str, ContactBackup]:
    """Every file is read before any customer is touched; a bad one is a usage error."""
    found: dict[str, ContactBackup] = {}
    for code, path in paths.items():
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise BackupFileError(f"{path}: {exc.strerror or exc}") from None
        found[code] = parse_backup(text, source=str(path))
    return found


def restore(
    ctx: typer.Context,
    source: Annotated[
        Path, typer.Option("--from", help="backup file to read ({customer} for several)")
    ],
    prune: Annotated[
        bool, typer.Option("--prune", help="also remove contacts the backup does not hold")
    ] = False,
    customer: CustomersOpt = None,
    all_customers: AllOpt = False,
    concurrency: ConcurrencyOpt = None,
    dry_run: DryRunOpt = False,
    output: OutputOpt = OutputFormat.TEXT,
) -> None:
    """Bring contacts and their preferences back exactly as the backup holds them."""
    aws = CustomerAws.of(ctx)
    options = FanoutOptions.of(customer, all_customers, concurrency, output)
    backups = read_backups(paths_for(aws.runtime.directory, options, source))

    def task(mapping: CustomerMapping, report: CustomerReport) -> None:
        saved = backups[mapping.customer_code]
        if saved.customer != mapping.customer_code:
            raise ConflictError(f"the backup is of customer {saved.customer}, not this one")
        ses = aws.ses(mapping)
        plan, create = service.plan_restore_from(
            ses=ses, backup=saved, list_name=mapping.contact_list_name, prune=prune
        )
        report.print(contact_plan_table(plan, show_unchanged=False))
        report.data = {"plan": contact_plan_json(plan), "create_list": create, "applied": False}
        report.detail = ("dry run: " if dry_run else "") + plan.summary()
        if not dry_run:
            service.restore_contacts(ses=ses, backup=saved, plan=plan, create_list=create)
            report.data["applied"] = True

    run_for_customers(
        aws.runtime.directory, options, "ses contacts restore", task, prepare=aws.warm
    )

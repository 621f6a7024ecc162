"""``ses contacts backup --to FILE`` and ``restore --from FILE``: JSON, preferences exactly.

With several customers the path must hold ``{customer}``, which becomes each customer's code.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from changecast.cli.contact_views import contact_plan_json, contact_plan_table
from changecast.cli.fanout import CustomerReport, CustomerTask, Fanout, fanout_command
from changecast.contacts import service
from changecast.contacts.backup import BackupFileError, parse_backup
from changecast.contacts.models import ContactBackup
from changecast.customers.models import CustomerMapping
from changecast.errors import ConflictError

PLACEHOLDER = "{customer}"


def paths_for(chosen: Sequence[CustomerMapping], template: Path) -> dict[str, Path]:
    """Each chosen customer's file; several customers need ``{customer}`` in the path."""
    text = str(template)
    if len(chosen) > 1 and PLACEHOLDER not in text:
        raise BackupFileError(
            f"{text}: several customers are chosen, so the path must contain {PLACEHOLDER}"
        )
    return {m.customer_code: Path(text.replace(PLACEHOLDER, m.customer_code)) for m in chosen}


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` whole or not at all; a path that cannot be written is the user's to fix."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
    except OSError as exc:
        raise BackupFileError(f"{path}: cannot be written: {exc.strerror or exc}") from None


@fanout_command()
def backup(
    fan: Fanout,
    to: Annotated[Path, typer.Option("--to", help="file to write ({customer} for several)")],
) -> CustomerTask:
    """Save each list's topics and every contact's preferences to a JSON file."""
    aws = fan.aws
    paths = paths_for(fan.customers, to)

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

    return task


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


@fanout_command(dry_run=True)
def restore(
    fan: Fanout,
    source: Annotated[
        Path, typer.Option("--from", help="backup file to read ({customer} for several)")
    ],
    prune: Annotated[
        bool, typer.Option("--prune", help="also remove contacts the backup does not hold")
    ] = False,
) -> CustomerTask:
    """Bring contacts and their preferences back exactly as the backup holds them."""
    aws, dry_run = fan.aws, fan.dry_run
    backups = read_backups(paths_for(fan.customers, source))

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

    return task

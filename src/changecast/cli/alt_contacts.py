"""``changecast alt-contacts set|show|delete``: alternate contacts across an Organization.

Runs per customer (one Organization each) with the Account API; existing contacts are kept
and reported unless --overwrite is given.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
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
from changecast.cli.state import OutputFormat, OutputOpt
from changecast.contacts import alternate
from changecast.contacts.account_setup import apply_alternate_changes, read_alternate_contacts
from changecast.contacts.alternate import AccountContacts, AltChange, ContactFileError
from changecast.contacts.models import AlternateContact, AlternateContactType, OrgAccount
from changecast.customers.models import CustomerMapping
from changecast.errors import InvalidInputError

app = typer.Typer(
    help="AWS account alternate contacts (billing, operations, security).", no_args_is_help=True
)

TypesOpt = Annotated[
    list[AlternateContactType] | None,
    typer.Option(
        "--type", case_sensitive=False, help="billing, operations or security; repeatable"
    ),
]
AccountsOpt = Annotated[
    list[str] | None, typer.Option("--account", help="only this account id; repeatable")
]
RoleOpt = Annotated[
    str | None,
    typer.Option(
        "--role-arn",
        help="role in the management account (default: the customer's identity_center_role_arn)",
    ),
]
State = list[tuple[OrgAccount, AccountContacts]]
Planner = Callable[[State], Sequence[AltChange]]


class AccountIdError(InvalidInputError):
    """An --account value is not a 12-digit AWS account id."""


def _accounts(values: list[str] | None) -> tuple[str, ...]:
    bad = [v for v in values or () if not (len(v) == 12 and v.isdigit())]
    if bad:
        raise AccountIdError(f"not a 12-digit account id: {', '.join(b[:20] for b in bad[:5])}")
    return tuple(dict.fromkeys(values or ()))


def _who(contact: AlternateContact | None) -> str:
    return f"{contact.name} <{contact.email}> {contact.phone}" if contact else "-"


def changes_table(changes: Sequence[AltChange]) -> Table:
    table = Table("account", "name", "type", "action", "current", "wanted")
    for c in changes:
        table.add_row(
            c.account_id,
            c.account_name,
            c.contact_type.value.lower(),
            c.action.value,
            _who(c.before),
            _who(c.after) if c.after else "",
        )
    return table


def run_alternate(
    ctx: typer.Context,
    command: str,
    options: FanoutOptions,
    planner: Planner,
    *,
    kinds: Sequence[AlternateContactType],
    accounts: tuple[str, ...],
    role_arn: str | None,
    dry_run: bool,
) -> None:
    aws = CustomerAws.of(ctx)

    def task(mapping: CustomerMapping, report: CustomerReport) -> None:
        port = aws.accounts(mapping, role_arn=role_arn)
        state = read_alternate_contacts(port=port, kinds=kinds, account_ids=accounts)
        changes = planner(state)
        report.print(changes_table(changes))
        counts: dict[str, int] = {}
        for c in changes:
            counts[c.action.value] = counts.get(c.action.value, 0) + 1
        summary = ", ".join(f"{n} {a}" for a, n in sorted(counts.items())) or "no accounts"
        report.detail = f"{'dry run: ' if dry_run else ''}{len(state)} accounts; {summary}"
        report.data = {"changes": [c.model_dump(mode="json") for c in changes], "applied": False}
        if not dry_run and any(c.pending for c in changes):
            apply_alternate_changes(port=port, changes=changes)
            report.data["applied"] = True

    run_for_customers(aws.runtime.directory, options, command, task, prepare=aws.warm)


def read_contact_file(
    path: Path, kinds: Sequence[AlternateContactType] | None
) -> dict[AlternateContactType, AlternateContact]:
    """The file's contacts, limited to ``kinds``; any problem is a usage error (exit 2)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ContactFileError(f"{path}: {exc.strerror or exc}") from None
    wanted = alternate.parse_contact_file(text, source=str(path))
    if kinds:
        missing = [k.value.lower() for k in kinds if k not in wanted]
        if missing:
            raise ContactFileError(f"{path}: has no {', '.join(missing)} contact")
        wanted = {k: v for k, v in wanted.items() if k in kinds}
    return wanted


@app.command("set")
def set_contacts(
    ctx: typer.Context,
    contacts_file: Annotated[
        Path, typer.Option("--contacts-file", help="JSON: {billing|operations|security: {...}}")
    ],
    kinds: TypesOpt = None,
    account: AccountsOpt = None,
    role_arn: RoleOpt = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="replace contacts that differ (default: keep)")
    ] = False,
    customer: CustomersOpt = None,
    all_customers: AllOpt = False,
    concurrency: ConcurrencyOpt = None,
    dry_run: DryRunOpt = False,
    output: OutputOpt = OutputFormat.TEXT,
) -> None:
    """Set the file's contacts on every active account; existing ones stay unless --overwrite."""
    wanted = read_contact_file(contacts_file, kinds)

    def planner(state: State) -> Sequence[AltChange]:
        return alternate.plan_set(state, wanted, overwrite=overwrite)

    options = FanoutOptions.of(customer, all_customers, concurrency, output)
    run_alternate(
        ctx,
        "alt-contacts set",
        options,
        planner,
        kinds=sorted(wanted),
        accounts=_accounts(account),
        role_arn=role_arn,
        dry_run=dry_run,
    )


@app.command("show")
def show(
    ctx: typer.Context,
    kinds: TypesOpt = None,
    account: AccountsOpt = None,
    role_arn: RoleOpt = None,
    customer: CustomersOpt = None,
    all_customers: AllOpt = False,
    concurrency: ConcurrencyOpt = None,
    output: OutputOpt = OutputFormat.TEXT,
) -> None:
    """Each active account's alternate contacts."""
    options = FanoutOptions.of(customer, all_customers, concurrency, output)
    run_alternate(
        ctx,
        "alt-contacts show",
        options,
        alternate.describe,
        kinds=sorted(kinds or AlternateContactType),
        accounts=_accounts(account),
        role_arn=role_arn,
        dry_run=False,
    )


@app.command("delete")
def delete(
    ctx: typer.Context,
    kinds: Annotated[
        list[AlternateContactType],
        typer.Option("--type", case_sensitive=False, help="which contact type(s) to delete"),
    ],
    account: AccountsOpt = None,
    role_arn: RoleOpt = None,
    customer: CustomersOpt = None,
    all_customers: AllOpt = False,
    concurrency: ConcurrencyOpt = None,
    dry_run: DryRunOpt = False,
    output: OutputOpt = OutputFormat.TEXT,
) -> None:
    """Delete the named contact types on every active account (or --account ones)."""
    chosen = sorted(set(kinds))

    def planner(state: State) -> Sequence[AltChange]:
        return alternate.plan_delete(state, chosen)

    options = FanoutOptions.of(customer, all_customers, concurrency, output)
    run_alternate(
        ctx,
        "alt-contacts delete",
        options,
        planner,
        kinds=chosen,
        accounts=_accounts(account),
        role_arn=role_arn,
        dry_run=dry_run,
    )

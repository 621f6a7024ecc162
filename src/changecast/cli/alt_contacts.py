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

from changecast.cli.fanout import CustomerReport, CustomerTask, Fanout, fanout_command
from changecast.cli.tables import folding_table, whole
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
    table = folding_table(whole("account", width=12), "name", "type", "action", "current", "wanted")
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


def alternate_task(
    fan: Fanout,
    planner: Planner,
    *,
    kinds: Sequence[AlternateContactType],
    accounts: tuple[str, ...],
    role_arn: str | None,
) -> CustomerTask:
    """Read each account's contacts, plan with ``planner``, show it, apply unless a dry run."""
    aws, dry_run = fan.aws, fan.dry_run

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

    return task


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
@fanout_command(dry_run=True)
def set_contacts(
    fan: Fanout,
    contacts_file: Annotated[
        Path, typer.Option("--contacts-file", help="JSON: {billing|operations|security: {...}}")
    ],
    kinds: TypesOpt = None,
    account: AccountsOpt = None,
    role_arn: RoleOpt = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="replace contacts that differ (default: keep)")
    ] = False,
) -> CustomerTask:
    """Set the file's contacts on every active account; existing ones stay unless --overwrite."""
    wanted = read_contact_file(contacts_file, kinds)

    def planner(state: State) -> Sequence[AltChange]:
        return alternate.plan_set(state, wanted, overwrite=overwrite)

    accounts = _accounts(account)
    return alternate_task(fan, planner, kinds=sorted(wanted), accounts=accounts, role_arn=role_arn)


@app.command("show")
@fanout_command()
def show(
    fan: Fanout,
    kinds: TypesOpt = None,
    account: AccountsOpt = None,
    role_arn: RoleOpt = None,
) -> CustomerTask:
    """Each active account's alternate contacts."""
    chosen = sorted(kinds or AlternateContactType)
    return alternate_task(
        fan, alternate.describe, kinds=chosen, accounts=_accounts(account), role_arn=role_arn
    )


@app.command("delete")
@fanout_command(dry_run=True)
def delete(
    fan: Fanout,
    kinds: Annotated[
        list[AlternateContactType],
        typer.Option("--type", case_sensitive=False, help="which contact type(s) to delete"),
    ],
    account: AccountsOpt = None,
    role_arn: RoleOpt = None,
) -> CustomerTask:
    """Delete the named contact types on every active account (or --account ones)."""
    chosen = sorted(set(kinds))

    def planner(state: State) -> Sequence[AltChange]:
        return alternate.plan_delete(state, chosen)

    return alternate_task(
        fan, planner, kinds=chosen, accounts=_accounts(account), role_arn=role_arn
    )

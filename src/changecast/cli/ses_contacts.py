"""``changecast ses contacts …``: list, show, add, remove, subscribe and unsubscribe contacts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated

import typer
from rich.table import Table

from changecast.cli import ses_backup
from changecast.cli.contact_views import contact_plan_json, contact_plan_table, contacts_table
from changecast.cli.fanout import CustomerReport, CustomerTask, Fanout, fanout_command
from changecast.cli.tables import folding_table, whole
from changecast.contacts import service
from changecast.contacts.models import Contact, ContactListInfo, ContactPlan
from changecast.contacts.ports import ContactListPort
from changecast.contacts.topics import is_subscribed
from changecast.customers.models import CustomerMapping, SubscriptionStatus, is_email
from changecast.errors import InvalidInputError

app = typer.Typer(help="Contacts of each customer's contact list.", no_args_is_help=True)
app.command("backup")(ses_backup.backup)
app.command("restore")(ses_backup.restore)

EmailsArg = Annotated[list[str], typer.Argument(help="one or more email addresses")]
TopicOpt = Annotated[str, typer.Option("--topic", "-t", help="a topic of the contact list")]
PlanMaker = Callable[[ContactListPort, str], ContactPlan]


class BadAddressError(InvalidInputError):
    """An argument that should be an email address is not one."""


def require_emails(values: Sequence[str]) -> list[str]:
    bad = [v for v in values if not is_email(v)]
    if bad:
        raise BadAddressError(f"not an email address: {', '.join(b[:80] for b in bad[:5])}")
    return list(dict.fromkeys(v.strip() for v in values))


@app.command("list")
@fanout_command()
def list_contacts(
    fan: Fanout,
    topic: Annotated[
        str | None, typer.Option("--topic", "-t", help="only contacts SES mails for this topic")
    ] = None,
) -> CustomerTask:
    """Every contact (all pages), or those subscribed to --topic (filtered here, SES rules)."""
    aws = fan.aws

    def task(mapping: CustomerMapping, report: CustomerReport) -> None:
        contacts = aws.ses(mapping).list_contacts(mapping.contact_list_name, topic=topic)
        title = f"list {mapping.contact_list_name}" + (f", topic {topic}" if topic else "")
        report.print(contacts_table(contacts, title))
        report.detail = f"{len(contacts)} contacts" + (f" subscribed to {topic}" if topic else "")
        report.data = {"contacts": [c.model_dump(mode="json") for c in contacts]}

    return task


def _explain(contact: Contact, info: ContactListInfo) -> Table:
    """Whether the contact receives each topic, and whether explicitly or by the list default."""
    table = folding_table(whole("topic"), "receives", "because", title=contact.email)
    for t in info.topics:
        explicit = contact.preference_for(t.name)
        receives = is_subscribed(contact, t.name, t.default_status)
        if contact.unsubscribe_all:
            why = "unsubscribed from all"
        else:
            why = f"explicit {explicit}" if explicit else f"list default {t.default_status}"
        table.add_row(t.name, "yes" if receives else "no", why)
    return table


@app.command("show")
@fanout_command()
def show(fan: Fanout, emails: EmailsArg) -> CustomerTask:
    """Each contact's status on every topic, and whether it is explicit or the list default."""
    aws = fan.aws
    wanted = require_emails(emails)

    def task(mapping: CustomerMapping, report: CustomerReport) -> None:
        ses = aws.ses(mapping)
        info = ses.get_contact_list(mapping.contact_list_name)
        found = 0
        for email in wanted:
            contact = ses.find_contact(info.name, email)
            if contact is None:
                report.print(f"{email}: [magenta]not on the list[/magenta]")
                continue
            found += 1
            report.print(_explain(contact, info))
            report.data[contact.email] = contact.model_dump(mode="json")
        report.detail = f"{found} of {len(wanted)} on the list"

    return task


def contact_plan_task(fan: Fanout, make: PlanMaker) -> CustomerTask:
    """Plan per customer with ``make``, show it, and carry it out unless ``--dry-run``."""
    aws, dry_run = fan.aws, fan.dry_run

    def task(mapping: CustomerMapping, report: CustomerReport) -> None:
        ses = aws.ses(mapping)
        plan = make(ses, mapping.contact_list_name)
        report.print(contact_plan_table(plan))
        report.data = {"plan": contact_plan_json(plan), "applied": False}
        report.detail = ("dry run: " if dry_run else "") + plan.summary()
        if not dry_run and plan.pending:
            service.apply_contact_plan(ses=ses, plan=plan)
            report.data["applied"] = True

    return task


@app.command("add")
@fanout_command(dry_run=True)
def add(
    fan: Fanout,
    emails: EmailsArg,
    topics: Annotated[
        list[str] | None, typer.Option("--topic", "-t", help="opt in to this topic; repeatable")
    ] = None,
) -> CustomerTask:
    """Add contacts (opted in to each --topic); contacts already present are left alone."""
    wanted, chosen = require_emails(emails), list(topics or ())

    def make(ses: ContactListPort, name: str) -> ContactPlan:
        return service.plan_add(ses=ses, list_name=name, emails=wanted, topics=chosen)

    return contact_plan_task(fan, make)


@app.command("remove")
@fanout_command(dry_run=True)
def remove(fan: Fanout, emails: EmailsArg) -> CustomerTask:
    """Remove contacts from each list."""
    wanted = require_emails(emails)

    def make(ses: ContactListPort, name: str) -> ContactPlan:
        return service.plan_remove(ses=ses, list_name=name, emails=wanted)

    return contact_plan_task(fan, make)


def _subscription_command(status: SubscriptionStatus, help_text: str) -> None:
    """Register ``subscribe`` (OPT_IN) or ``unsubscribe`` (OPT_OUT); only the status differs."""
    name = "subscribe" if status == "OPT_IN" else "unsubscribe"

    def command(fan: Fanout, emails: EmailsArg, topic: TopicOpt) -> CustomerTask:
        wanted = require_emails(emails)

        def make(ses: ContactListPort, list_name: str) -> ContactPlan:
            return service.plan_subscription(
                ses=ses, list_name=list_name, emails=wanted, topic=topic, status=status
            )

        return contact_plan_task(fan, make)

    command.__doc__ = help_text
    app.command(name)(fanout_command(dry_run=True)(command))


_subscription_command(
    "OPT_IN", "Opt contacts in to --topic; their other preferences stay as they are."
)
_subscription_command(
    "OPT_OUT", "Opt contacts out of --topic; their other preferences stay as they are."
)

"""``changecast ses …``: contact lists and topics per customer, plus a test send.

Contacts and suppression live in ``ses_contacts``, sending domains in ``ses_domain``.
"""

from __future__ import annotations

from typing import Annotated

import typer

from changecast.cli import ses_contacts, ses_domain, ses_preflight, ses_suppression
from changecast.cli.contact_views import topic_plan_summary, topic_plan_table, topics_table
from changecast.cli.customer_aws import CustomerAws
from changecast.cli.fanout import CustomerReport, CustomerTask, Fanout, fanout_command
from changecast.cli.ses_contacts import require_emails
from changecast.contacts.service import apply_topic_sync, plan_topic_sync, require_topic
from changecast.contacts.topics import desired_topics
from changecast.customers.models import CustomerMapping
from changecast.errors import InvalidInputError

app = typer.Typer(
    help="Customers' SES contact lists, topics, contacts and domains.", no_args_is_help=True
)
list_app = typer.Typer(help="The contact list itself.", no_args_is_help=True)
topics_app = typer.Typer(
    help="Topics: describe, plan and apply SESConfig.json.", no_args_is_help=True
)
app.add_typer(list_app, name="list")
app.add_typer(topics_app, name="topics")
app.add_typer(ses_contacts.app, name="contacts")
app.add_typer(ses_suppression.app, name="suppression")
app.add_typer(ses_domain.app, name="domain")
ses_preflight.register(app)


@list_app.command("describe")
@fanout_command()
def list_describe(fan: Fanout) -> CustomerTask:
    """Each customer's contact list: topics, contact count and subscribers per topic."""
    aws = fan.aws

    def task(mapping: CustomerMapping, report: CustomerReport) -> None:
        ses = aws.ses(mapping)
        info = ses.get_contact_list(mapping.contact_list_name)
        contacts = ses.list_contacts(info.name)
        report.print(topics_table(info, contacts))
        report.detail = f"{len(info.topics)} topics, {len(contacts)} contacts"
        report.data = {"list": info.model_dump(mode="json"), "contacts": len(contacts)}

    return task


@topics_app.command("describe")
@fanout_command()
def topics_describe(fan: Fanout) -> CustomerTask:
    """The topics on each customer's contact list."""
    aws = fan.aws

    def task(mapping: CustomerMapping, report: CustomerReport) -> None:
        info = aws.ses(mapping).get_contact_list(mapping.contact_list_name)
        report.print(topics_table(info))
        report.detail = ", ".join(t.name for t in info.topics) or "no topics"
        report.data = {"topics": [t.model_dump(mode="json") for t in info.topics]}

    return task


def topics_task(aws: CustomerAws, *, apply: bool) -> CustomerTask:
    """Plan (and with ``apply``, carry out) SESConfig.json's topics on one customer's list."""
    desired = desired_topics(aws.ses_config)

    def task(mapping: CustomerMapping, report: CustomerReport) -> None:
        ses = aws.ses(mapping)
        plan, current = plan_topic_sync(
            ses=ses, list_name=mapping.contact_list_name, desired=desired
        )
        report.print(topic_plan_table(plan))
        report.detail = topic_plan_summary(plan)
        report.data = {"plan": plan.model_dump(mode="json"), "applied": False}
        if apply and plan.has_changes:
            apply_topic_sync(ses=ses, plan=plan, current=current)
            report.detail = f"applied: {report.detail}"
            report.data["applied"] = True

    return task


@topics_app.command("plan")
@fanout_command()
def topics_plan(fan: Fanout) -> CustomerTask:
    """Compare SESConfig.json with each contact list: topics to add, update or remove."""
    return topics_task(fan.aws, apply=False)


@topics_app.command("apply")
@fanout_command(dry_run=True)
def topics_apply(fan: Fanout) -> CustomerTask:
    """Change each list in place (UpdateContactList); every contact's preferences are kept."""
    return topics_task(fan.aws, apply=not fan.dry_run)


class RestrictedRecipientError(InvalidInputError):
    """The test address is one a selected customer may not be mailed (exit 2)."""


def allowed_recipients(mapping: CustomerMapping) -> frozenset[str] | None:
    """The only addresses a customer may be mailed, or None for anyone.

    ``restricted_recipients`` when set; a non-production customer mails only those (none if the
    list is empty), as the worker does.
    """
    if mapping.restricted_recipients or not mapping.is_production:
        return frozenset(mapping.restricted_recipients)
    return None


def require_allowed(to: str, mappings: list[CustomerMapping]) -> None:
    """Refuse, before anything is sent, an address outside a customer's restricted_recipients."""
    refusing = [
        m.customer_code
        for m in mappings
        if (allowed := allowed_recipients(m)) is not None and to.lower() not in allowed
    ]
    if refusing:
        raise RestrictedRecipientError(
            f"{to} is not in restricted_recipients of {', '.join(refusing[:10])} "
            "(config.json customer_mappings.<code>.restricted_recipients; a non-production "
            "customer mails only those): nothing was sent",
            customers=refusing[:10],
        )


@app.command("send-test")
@fanout_command(dry_run=True)
def send_test(
    fan: Fanout,
    topic: Annotated[str, typer.Option("--topic", help="the topic to send under")],
    to: Annotated[str, typer.Option("--to", help="the one address to send to")],
    sender: Annotated[
        str | None, typer.Option("--from", help="sender (default: email_config.sender_address)")
    ] = None,
) -> CustomerTask:
    """Send one test message through each customer's SES, with the list's unsubscribe link.

    Refused (exit 2, nothing sent) when ``--to`` is outside a selected customer's
    ``restricted_recipients``.
    """
    aws, dry_run = fan.aws, fan.dry_run
    (to,) = require_emails([to])
    (source,) = require_emails([sender or aws.runtime.config.email_config.sender_address])
    require_allowed(to, fan.customers)

    def task(mapping: CustomerMapping, report: CustomerReport) -> None:
        ses = aws.ses(mapping)
        require_topic(ses, mapping.contact_list_name, topic)
        report.data = {"to": to, "from": source, "topic": topic, "sent": False}
        if dry_run:
            report.detail = f"would send to {to} under {topic}"
            return
        message_id = ses.send_simple(
            sender=source,
            to=to,
            subject=f"changecast test message for {mapping.customer_name} ({topic})",
            text=f"This is a test of topic {topic} on contact list {mapping.contact_list_name}.",
            list_name=mapping.contact_list_name,
            topic=topic,
        )
        report.detail = f"sent {message_id}"
        report.data.update(sent=True, message_id=message_id)

    return task

"""``changecast ses domain setup|dns|verify``: each customer's SES sending domain."""

from __future__ import annotations

import re
from typing import Annotated

import typer

from changecast.cli.customer_aws import CustomerAws
from changecast.cli.fanout import CustomerReport, CustomerTask, Fanout, fanout_command
from changecast.cli.tables import folding_table
from changecast.contacts.account_setup import DomainSetupIncompleteError, setup_domain
from changecast.contacts.domain import (
    DEFAULT_CONFIGURATION_SET,
    DEFAULT_MAIL_FROM_SUBDOMAIN,
    DomainSpec,
    dns_records,
)
from changecast.customers.models import CustomerMapping
from changecast.errors import ConflictError, InvalidInputError

app = typer.Typer(help="Sending domain: DKIM, MAIL FROM, configuration set.", no_args_is_help=True)

DomainOpt = Annotated[
    str | None, typer.Option("--domain", help="default: email_config.domain in config.json")
]
MailFromOpt = Annotated[
    str, typer.Option("--mail-from-subdomain", help="MAIL FROM is this label under the domain")
]
ConfigSetOpt = Annotated[
    str | None,
    typer.Option(
        "--configuration-set",
        help="configuration set name (default: each customer's ses_configuration_set in "
        "config.json, else changecast-<code>, what Terraform creates)",
    ),
]
ForceOpt = Annotated[
    bool,
    typer.Option(
        "--force",
        help="re-point an identity away from a configuration set that publishes events",
    ),
]
LABEL = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"


class DomainOptionError(InvalidInputError):
    """A domain option is not a usable DNS name."""


def spec_for(
    aws: CustomerAws, domain: str | None, subdomain: str, config_set: str | None
) -> DomainSpec:
    chosen = (domain or aws.runtime.config.email_config.domain).lower().rstrip(".")
    if not all(re.match(LABEL, part) for part in chosen.split(".")) or "." not in chosen:
        raise DomainOptionError(f"--domain {chosen[:80]!r} is not a domain name")
    if not re.match(LABEL, subdomain):
        raise DomainOptionError(f"--mail-from-subdomain {subdomain[:80]!r} is not one DNS label")
    if config_set is not None and not re.match(r"^[A-Za-z0-9_-]{1,64}$", config_set):
        raise DomainOptionError(f"--configuration-set {config_set[:80]!r} is not a valid name")
    return DomainSpec(
        domain=chosen,
        mail_from_subdomain=subdomain,
        configuration_set=config_set or DEFAULT_CONFIGURATION_SET,
    )


def _for_customer(
    spec: DomainSpec, mapping: CustomerMapping, config_set: str | None = None
) -> DomainSpec:
    """The spec in the customer's region, with its configuration set unless one was given."""
    name = config_set or mapping.configuration_set_name
    return spec.model_copy(update={"region": mapping.region, "configuration_set": name})


@app.command("setup")
@fanout_command(dry_run=True)
def setup(
    fan: Fanout,
    domain: DomainOpt = None,
    mail_from_subdomain: MailFromOpt = DEFAULT_MAIL_FROM_SUBDOMAIN,
    configuration_set: ConfigSetOpt = None,
    force: ForceOpt = False,
) -> CustomerTask:
    """Create the DKIM identity, custom MAIL FROM and a TLS-required configuration set.

    The set is the customer's ``ses_configuration_set`` (default ``changecast-<code>``, the one
    Terraform creates with its event destination). An identity that uses another set with an
    event destination is left alone (the customer fails) unless ``--force``.
    """
    aws, dry_run = fan.aws, fan.dry_run
    base = spec_for(aws, domain, mail_from_subdomain, configuration_set)

    def task(mapping: CustomerMapping, report: CustomerReport) -> None:
        spec = _for_customer(base, mapping, configuration_set)
        try:
            steps = setup_domain(port=aws.domain(mapping), spec=spec, dry_run=dry_run, force=force)
        except DomainSetupIncompleteError as incomplete:  # moto lacks some SESv2 calls
            report.print(*(f"done: {step}" for step in incomplete.done))
            report.print(*(f"not done: {step} ({call})" for step, call in incomplete.lacking))
            report.data = {"domain": spec.domain, "steps": incomplete.done, "applied": True}
            raise
        for step in steps:
            report.print(("would " if dry_run else "done: ") + step)
        report.detail = f"{'dry run: ' if dry_run else ''}{len(steps)} steps for {spec.domain}"
        report.data = {"domain": spec.domain, "steps": steps, "applied": not dry_run}

    return task


@app.command("dns")
@fanout_command()
def dns(
    fan: Fanout,
    domain: DomainOpt = None,
    mail_from_subdomain: MailFromOpt = DEFAULT_MAIL_FROM_SUBDOMAIN,
) -> CustomerTask:
    """The DNS records to create: three DKIM CNAMEs, MAIL FROM MX and SPF, and DMARC."""
    aws = fan.aws
    base = spec_for(aws, domain, mail_from_subdomain, None)

    def task(mapping: CustomerMapping, report: CustomerReport) -> None:
        spec = _for_customer(base, mapping)
        status = aws.domain(mapping).get_domain_status(spec.domain)
        if not status.exists:
            raise ConflictError(f"no SES identity for {spec.domain}; run `ses domain setup` first")
        records = dns_records(spec, status.dkim_tokens)
        table = folding_table("name", "type", "value", "purpose", title=spec.domain)
        for record in records:
            table.add_row(record.name, record.type, record.value, record.purpose)
        report.print(table)
        if not status.dkim_tokens:
            report.print(
                "[yellow]SES has not issued DKIM tokens yet; run this again later[/yellow]"
            )
        report.detail = f"{len(records)} records"
        report.data = {"records": [r.model_dump(mode="json") for r in records]}

    return task


@app.command("verify")
@fanout_command()
def verify(
    fan: Fanout,
    domain: DomainOpt = None,
    mail_from_subdomain: MailFromOpt = DEFAULT_MAIL_FROM_SUBDOMAIN,
    configuration_set: ConfigSetOpt = None,
) -> CustomerTask:
    """Check verification, DKIM, MAIL FROM and the configuration set; a customer not ready fails."""
    aws = fan.aws
    base = spec_for(aws, domain, mail_from_subdomain, configuration_set)

    def task(mapping: CustomerMapping, report: CustomerReport) -> None:
        spec = _for_customer(base, mapping, configuration_set)
        status = aws.domain(mapping).get_domain_status(spec.domain)
        problems = status.problems(spec)
        report.data = {"status": status.model_dump(mode="json"), "problems": problems}
        table = folding_table("check", "status", title=spec.domain)
        table.add_row("verified for sending", str(status.verified_for_sending))
        table.add_row("DKIM", status.dkim_status)
        table.add_row("MAIL FROM", f"{status.mail_from_domain} {status.mail_from_status or ''}")
        table.add_row("configuration set", status.configuration_set or "-")
        report.print(table)
        if problems:
            raise ConflictError(f"{spec.domain} is not ready: " + "; ".join(problems))
        report.detail = f"{spec.domain} ready"

    return task

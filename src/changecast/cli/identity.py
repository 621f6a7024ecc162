"""``changecast identity import``: Identity Center users and groups to each customer's contacts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import typer

from changecast.cli.contact_views import contact_plan_json, contact_plan_table
from changecast.cli.customer_aws import CustomerAws
from changecast.cli.fanout import CustomerReport, CustomerTask, Fanout, fanout_command
from changecast.contacts import service
from changecast.contacts.importer import DEFAULT_GROUP_PATTERN, GroupPattern, ImportOptions
from changecast.customers.models import CustomerMapping

app = typer.Typer(help="IAM Identity Center: import users as contacts.", no_args_is_help=True)


PatternOpt = Annotated[
    str, typer.Option("--group-pattern", help="group name to role; {role} marks the role")
]
StoreOpt = Annotated[
    str | None,
    typer.Option("--identity-store-id", help="skip sso-admin ListInstances and use this store"),
]
RegionOpt = Annotated[
    str | None, typer.Option("--identity-region", help="Identity Center's home region")
]
RemoveOpt = Annotated[
    bool, typer.Option("--remove-missing", help="remove contacts whose user is gone")
]
OnlyRoleOpt = Annotated[
    bool, typer.Option("--only-with-role", help="import only users in a matching group")
]
RevokeOpt = Annotated[
    bool, typer.Option("--revoke", help="drop role-only topics from users who lost the role")
]


@dataclass(frozen=True)
class ImportRequest:
    pattern: GroupPattern
    options: ImportOptions
    store_id: str | None
    region: str | None
    dry_run: bool


def import_task(aws: CustomerAws, request: ImportRequest) -> CustomerTask:
    """Read Identity Center and the list, plan, show the plan, and apply it unless a dry run."""
    topics = aws.ses_config.expanded_topics()

    def task(mapping: CustomerMapping, report: CustomerReport) -> None:
        directory = aws.identity(mapping, store_id=request.store_id, region=request.region)
        ses = aws.ses(mapping)
        plan = service.plan_identity_import(
            ses=ses,
            directory=directory,
            list_name=mapping.contact_list_name,
            topics=topics,
            pattern=request.pattern,
            options=request.options,
        )
        report.print(contact_plan_table(plan))
        report.data = {"plan": contact_plan_json(plan), "applied": False}
        report.detail = ("dry run: " if request.dry_run else "") + plan.summary()
        if not request.dry_run and plan.pending:
            service.apply_contact_plan(ses=ses, plan=plan)
            report.data["applied"] = True

    return task


@app.command("import")
@fanout_command(dry_run=True)
def import_contacts(
    fan: Fanout,
    group_pattern: PatternOpt = DEFAULT_GROUP_PATTERN,
    identity_store_id: StoreOpt = None,
    identity_region: RegionOpt = None,
    remove_missing: RemoveOpt = False,
    only_with_role: OnlyRoleOpt = False,
    revoke: RevokeOpt = False,
) -> CustomerTask:
    """Each user gets the OPT_IN topics plus those whose OptInRoles hold one of the user's roles.

    Preferences a contact chose are kept. The plan lists every contact as add, update or
    unchanged (and remove, with --remove-missing).
    """
    choices = ImportOptions(
        remove_missing=remove_missing, only_with_role=only_with_role, revoke=revoke
    )
    request = ImportRequest(
        GroupPattern.parse(group_pattern), choices, identity_store_id, identity_region, fan.dry_run
    )
    return import_task(fan.aws, request)

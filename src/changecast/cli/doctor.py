"""``changecast doctor``: read-only checks of a deployed environment, one line each with a fix.

The hub's checks (config.json, bucket, ledger, index, runtime secret, SAML, the SES events
queue) come first, then each chosen customer's (queue and DLQ, bucket notification, roles, SES,
configuration set and events subscription, worker event source). Exit 0 when nothing fails
(warnings allowed), 1 otherwise.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.table import Table

from changecast.cli.fanout import CustomerReport, CustomerTask, Fanout, fanout_command
from changecast.customers.models import CustomerMapping
from changecast.errors import ChangecastError

if TYPE_CHECKING:  # boto3 loads with changecast.aws; `changecast --help` must not load it
    from changecast.aws.doctor import Check

app = typer.Typer()

MigrateFunctionOpt = Annotated[
    str | None,
    typer.Option(
        "--migrate-function",
        help="check the index through the migrate function (Terraform output "
        "migrate_function_name) when the database is private",
    ),
]

MARK = {"ok": "[green]ok[/green]", "warn": "[yellow]warn[/yellow]", "fail": "[red]fail[/red]"}


def checks_table(title: str, checks: list[Check]) -> Table:
    table = Table("status", "check", "detail", "fix", title=title, show_lines=False)
    for check in checks:
        table.add_row(MARK[check.status.value], check.name, check.detail, check.fix)
    return table


def index_check(fan: Fanout, function: str | None) -> list[Check]:
    """The index at this release's schema: through the migrate function, or directly."""
    from changecast.aws.doctor import fail, ok, warn
    from changecast.index.engine import SCHEMA_HEAD

    runtime = fan.aws.runtime
    name, fix = "index schema", "changecast deploy migrate --function changecast-<env>-migrate"
    if function:
        from changecast.aws.lambda_invoke import invoke, lambda_client
        from changecast.bootstrap import environment_region

        try:
            client = lambda_client(environment_region(), runtime.settings.aws_endpoint_url)
            answer = invoke(client, function, {"check": True})
        except ChangecastError as exc:
            return [fail(name, exc.message[:300], f"check --migrate-function {function}")]
        body = answer.payload if isinstance(answer.payload, dict) else {}
        if answer.function_error or body.get("ok") is not True:
            error = answer.error_message if answer.function_error else body.get("error")
            return [fail(name, f"{function}: {error}", fix)]
        revision = body.get("after")
    elif runtime.settings.database_url:
        from changecast.index.engine import create_index_engine, schema_revision

        try:
            engine = create_index_engine(
                runtime.settings.index_url, credentials=runtime.database_credentials
            )
            try:
                revision = schema_revision(engine)
            finally:
                engine.dispose()
        except ChangecastError as exc:
            return [
                warn(
                    name,
                    f"not checked: {exc.message[:200]}",
                    "the database is private: pass --migrate-function",
                )
            ]
    else:
        return [warn(name, "not checked: no CHANGECAST_DATABASE_URL", "pass --migrate-function")]
    if revision != SCHEMA_HEAD:
        return [fail(name, f"at {revision or '(empty)'}; this release needs {SCHEMA_HEAD}", fix)]
    return [ok(name, SCHEMA_HEAD)]


def saml_checks(fan: Fanout, now: datetime) -> list[Check]:
    """The IdP metadata (or certificate) parses, and the certificate lasts 30 more days."""
    from changecast.aws.doctor import certificate_check, fail, ok
    from changecast.bootstrap import fetch_saml_metadata

    saml = fan.aws.runtime.settings.saml
    name = "SAML metadata"
    fix = "CHANGECAST_SAML__IDP_METADATA_URL: IAM Identity Center's metadata URL (docs/settings.md)"
    cert_fix = (
        "download the new certificate from the Identity Center application (secret-rotation.md)"
    )
    xml = saml.idp_metadata_xml
    try:
        if xml is None and saml.idp_metadata_url:
            xml = fetch_saml_metadata(fan.aws.runtime, saml.idp_metadata_url)
        if xml is None and saml.idp_metadata_file is not None:
            xml = saml.idp_metadata_file.read_text(encoding="utf-8")
    except (ChangecastError, OSError) as exc:
        return [fail(name, str(exc)[:300], fix)]
    cert = saml.idp_cert
    found: list[Check] = []
    if xml is not None:
        from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser

        try:
            parsed = OneLogin_Saml2_IdPMetadataParser.parse(xml).get("idp", {})
        except Exception as exc:  # lxml or python3-saml: the metadata is broken
            return [fail(name, f"does not parse: {type(exc).__name__}: {str(exc)[:200]}", fix)]
        if not parsed.get("entityId") or not parsed.get("singleSignOnService"):
            return [fail(name, "no IdP entity id or SSO URL in it", fix)]
        found.append(ok(name, f"{parsed['entityId']} → {parsed['singleSignOnService']['url']}"))
        multi = (parsed.get("x509certMulti") or {}).get("signing") or []
        cert = cert or parsed.get("x509cert") or (multi[0] if multi else None)
    elif not (saml.idp_entity_id and saml.idp_sso_url):
        return [fail(name, "no IdP is configured: nobody can sign in to the portal", fix)]
    if not cert:
        return [*found, fail("SAML certificate", "no IdP certificate", cert_fix)]
    body = "".join(line for line in cert.splitlines() if "-----" not in line)
    return [*found, certificate_check("SAML certificate", body, now, cert_fix)]


def hub_checks(fan: Fanout, migrate_function: str | None) -> list[Check]:
    from changecast.aws import doctor

    runtime = fan.aws.runtime
    settings = runtime.settings
    config = runtime.config
    found = [
        doctor.ok(
            "config loads",
            f"{len(runtime.directory.codes)} customers from {settings.config_location}",
        )
    ]
    found += doctor.bucket_checks(runtime.aws, config.s3_config.bucket_name)
    found += doctor.ledger_check(runtime.aws, settings.delivery.ledger_table)
    found += index_check(fan, migrate_function)
    found += doctor.runtime_secret_check(runtime.bootstrap_aws, settings.secrets_id)
    found += saml_checks(fan, datetime.now(UTC))
    events_arn = events_queue_arn(fan)
    if events_arn is None:
        found.append(
            doctor.warn(
                "SES events queue",
                "not checked: CHANGECAST_EVENTS__QUEUE_URL is not set",
                "export it from terraform output (the hub's ses-events queue)",
            )
        )
    else:
        found += doctor.queue_checks(runtime.aws, events_arn, "SES events")
        found += doctor.event_source_check(runtime.aws, events_arn, "SES events")
    base = settings.web.base_url
    if base is None:
        found.append(
            doctor.warn(
                "portal URL",
                "CHANGECAST_WEB__BASE_URL is not set; config.json's "
                f"{config.email_config.portal_base_url} is used",
                "set web_base_url in the environment's Terraform",
            )
        )
    return found


def config_failed(fan: Fanout, exc: ChangecastError) -> NoReturn:
    """config.json does not load: one ``fail`` line (or JSON document), exit 1."""
    from changecast.aws.doctor import fail
    from changecast.cli.state import OutputFormat, console, emit_json

    check = fail(
        "config loads",
        exc.message[:500],
        "fix config.json (the error names the field), or CHANGECAST_CONFIG",
    )
    if fan.options.output is OutputFormat.JSON:
        emit_json({"command": fan.command, "hub": [check.as_json()], "customers": []})
    else:
        console.print(checks_table("hub", [check]))
    raise typer.Exit(1)


def events_queue_arn(fan: Fanout) -> str | None:
    """The hub ``ses-events`` queue's ARN, from ``CHANGECAST_EVENTS__QUEUE_URL``."""
    url = fan.aws.runtime.settings.events.queue_url
    if not url:
        return None
    parts = url.rstrip("/").split("/")
    region = fan.aws.runtime.config.aws_region
    return f"arn:aws:sqs:{region}:{parts[-2]}:{parts[-1]}"


@app.command()
@fanout_command()
def doctor(fan: Fanout, migrate_function: MigrateFunctionOpt = None) -> CustomerTask:
    """Check a deployed environment, read-only: one line per check, ok / warn / fail, a fix.

    Exit 0 when nothing fails (warnings allowed), 1 otherwise.

    Reads the same CHANGECAST_* variables as the processes (docs/settings.md).
    """
    from changecast.aws import doctor as checks
    from changecast.aws.doctor import Status

    try:
        runtime = fan.aws.runtime
        runtime.directory  # noqa: B018 - config.json loads, or nothing else can be checked
    except ChangecastError as exc:
        config_failed(fan, exc)
    hub = hub_checks(fan, migrate_function)
    fan.before.append(checks_table("hub", hub))
    fan.extra["hub"] = [c.as_json() for c in hub]
    fan.failures.extend(f"hub: {c.name}: {c.detail}" for c in hub if c.status is Status.FAIL)
    rules: list[dict[str, object]] | None = None
    try:
        rules = checks.notification_rules(runtime.aws, runtime.config.s3_config.bucket_name)
    except ChangecastError as exc:
        rules_error = exc.message[:300]
    events_arn = events_queue_arn(fan)

    def task(mapping: CustomerMapping, report: CustomerReport) -> None:
        aws = runtime.aws
        found = checks.queue_checks(aws, mapping.sqs_queue_arn, "trigger")
        if rules is None:
            found.append(
                checks.fail("bucket notification", rules_error, "grant s3:GetBucketNotification")
            )
        else:
            found.append(checks.notification_check(rules, mapping))
        found += checks.event_source_check(aws, mapping.sqs_queue_arn, "worker")
        roles = checks.role_checks(aws, mapping)
        found += roles
        if roles[0].status is not Status.FAIL:  # the admin role: the SES checks need it
            clients = checks.CustomerClients(aws, mapping)
            found += checks.guarded(
                "SES", "check the admin role", lambda: checks.ses_checks(clients, runtime.config)
            )
            found += checks.guarded(
                "configuration set",
                "check the admin role",
                lambda: checks.configuration_set_checks(clients, runtime.config, events_arn),
            )
        report.print(checks_table(mapping.customer_code, found))
        report.data = {"checks": [c.as_json() for c in found]}
        failed = [c for c in found if c.status is Status.FAIL]
        warned = sum(1 for c in found if c.status is Status.WARN)
        if failed:
            raise DoctorFoundError(
                "; ".join(f"{c.name}: {c.detail} (fix: {c.fix})" for c in failed)
            )
        report.detail = f"{len(found)} checks ok" + (f", {warned} warnings" if warned else "")

    return task


class DoctorFoundError(ChangecastError):
    """A check failed; its line says how to fix it."""

    kind = "check_failed"

"""``changecast deploy …``: Terraform inputs derived from config.json (deploy/terraform)."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Annotated

import typer

from changecast.cli.state import OutputFormat, OutputOpt, console, emit_json, err_console, state_of
from changecast.customers.directory import load_app_config
from changecast.customers.tfvars import TFVARS_FILE, tfvars
from changecast.errors import InvalidInputError

app = typer.Typer(help="Terraform inputs derived from config.json.", no_args_is_help=True)


@app.callback()
def deploy() -> None:
    """Terraform inputs derived from config.json (deploy/terraform)."""


@app.command("tfvars")
def write_tfvars(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option("--config", help="config.json (default: the global --config)"),
    ] = None,
    out: Annotated[
        Path,
        typer.Option("--out", help=f"file to write ('-' for stdout); default ./{TFVARS_FILE}"),
    ] = Path(TFVARS_FILE),
) -> None:
    """Write customers.auto.tfvars.json from config.json, so Terraform and the code agree.

    Put the file in deploy/terraform/environments/<env>/; Terraform loads *.auto.tfvars.json
    by itself.
    """
    path = config or state_of(ctx).settings().config_location.path
    if path is None:
        raise InvalidInputError("deploy tfvars reads a local config.json; pass --config PATH")
    text = json.dumps(tfvars(load_app_config(path)), indent=2, sort_keys=True) + "\n"
    if str(out) == "-":
        sys.stdout.write(text)
        return
    out.write_text(text, encoding="utf-8")
    console.print(f"wrote {out} ({len(json.loads(text)['customers'])} customers)")


@app.command("migrate")
def migrate(
    ctx: typer.Context,
    function: Annotated[
        str,
        typer.Option(
            "--function",
            help="the migrate function (Terraform output migrate_function_name, "
            "changecast-<env>-migrate)",
        ),
    ],
    region: Annotated[
        str | None,
        typer.Option("--region", help="its region (default: AWS_REGION / AWS_DEFAULT_REGION)"),
    ] = None,
    check: Annotated[
        bool, typer.Option("--check", help="only report the index's revision; change nothing")
    ] = False,
    output: OutputOpt = OutputFormat.TEXT,
) -> None:
    """Migrate the index to this release's schema inside the VPC, and wait for the result.

    Invokes the migrate function synchronously (it runs `changecast.workers.migrate.handler`
    beside the private database), prints before → after and exits 0; or exits 1 with the
    function's error. Safe to repeat. Run it after each apply, before the processes start.
    """
    from changecast.aws.lambda_invoke import invoke, lambda_client
    from changecast.bootstrap import environment_region

    if not re.match(r"^[A-Za-z0-9:_.-]{1,170}$", function):
        raise InvalidInputError(f"--function {function[:80]!r} is not a Lambda function name")
    settings = state_of(ctx).settings()
    client = lambda_client(region or environment_region(), settings.aws_endpoint_url)
    answer = invoke(client, function, {"check": True} if check else {})
    body = answer.payload if isinstance(answer.payload, dict) else {}
    failed = answer.function_error is not None or body.get("ok") is not True
    error = (
        answer.error_message
        if answer.function_error is not None
        else str(body.get("error") or f"unexpected answer: {json.dumps(answer.payload)[:300]}")
    )
    if output is OutputFormat.JSON:
        emit_json(
            {"function": function, "ok": not failed, **body} | ({"error": error} if failed else {})
        )
    elif failed:
        err_console.print(f"{function}: migration failed: {error}", highlight=False, soft_wrap=True)
    else:
        where, before, after = body.get("database"), body.get("before"), body.get("after")
        if check:
            state = "current" if after == body.get("head") else f"behind {body.get('head')}"
            console.print(
                f"{where}: at {after or '(empty)'} ({state})", highlight=False, soft_wrap=True
            )
        elif before == after:
            console.print(f"{where}: already at {after}", highlight=False, soft_wrap=True)
        else:
            console.print(
                f"{where}: migrated {before or '(empty)'} → {after}",
                highlight=False,
                soft_wrap=True,
            )
    if failed:
        raise typer.Exit(1)

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
from changecast.customers.tfvars import (
    CUSTOMER_MODULE_SOURCE,
    GENERATED_TF_FILE,
    TFVARS_FILE,
    generated_tf,
    tfvars,
)
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
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out-dir",
            help=f"environment folder: writes {TFVARS_FILE} and {GENERATED_TF_FILE} there",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help=f"write only {TFVARS_FILE} to this file ('-' for stdout)"),
    ] = None,
    module_source: Annotated[
        str,
        typer.Option("--module-source", help="customer-account module, relative to --out-dir"),
    ] = CUSTOMER_MODULE_SOURCE,
    standalone: Annotated[
        list[str] | None,
        typer.Option(
            "--standalone",
            help="customer whose own team applies examples/customer-account-standalone "
            "(no provider or module for it here); repeatable",
        ),
    ] = None,
) -> None:
    """Write the Terraform inputs of config.json, so Terraform and the code agree.

    ``--out-dir deploy/terraform/environments/<env>`` writes customers.auto.tfvars.json (the
    variables) and customers.generated.tf (each customer account's provider alias and module,
    which Terraform cannot loop over). Adding or removing a customer is: edit config.json, run
    this again, plan.
    """
    if out_dir is not None and out is not None:
        raise InvalidInputError("give --out-dir (both files) or --out (the variables only)")
    path = config or state_of(ctx).settings().config_location.path
    if path is None:
        raise InvalidInputError("deploy tfvars reads a local config.json; pass --config PATH")
    app_config = load_app_config(path)
    text = json.dumps(tfvars(app_config), indent=2, sort_keys=True) + "\n"
    count = len(app_config.customer_mappings)
    if out_dir is not None:
        if not out_dir.is_dir():
            raise InvalidInputError(f"--out-dir {out_dir}: not a folder")
        generated = generated_tf(
            app_config, module_source=module_source, standalone=frozenset(standalone or ())
        )
        (out_dir / TFVARS_FILE).write_text(text, encoding="utf-8")
        (out_dir / GENERATED_TF_FILE).write_text(generated, encoding="utf-8")
        console.print(
            f"wrote {out_dir / TFVARS_FILE} and {out_dir / GENERATED_TF_FILE} ({count} customers)"
        )
        return
    target = out or Path(TFVARS_FILE)
    if str(target) == "-":
        sys.stdout.write(text)
        return
    target.write_text(text, encoding="utf-8")
    console.print(f"wrote {target} ({count} customers)")


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

"""``changecast deploy …``: Terraform inputs derived from config.json (deploy/terraform)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from changecast.cli.state import console, state_of
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

"""The ``changecast`` entry point: global options, sub-commands, one error-to-exit-code map."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import click
import typer

from changecast.cli import alt_contacts, changes, identity, index, local, ses, worker
from changecast.cli.state import CliState, err_console
from changecast.errors import ChangecastError, InvalidInputError
from changecast.logging import configure_logging

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

app = typer.Typer(
    name="changecast",
    help="Write a change notice once; deliver it through every customer's own SES.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(changes.app, name="change")
app.add_typer(index.app, name="index")
app.add_typer(local.app, name="local")
app.add_typer(ses.app, name="ses")
app.add_typer(identity.app, name="identity")
app.add_typer(alt_contacts.app, name="alt-contacts")
app.add_typer(worker.app, name="worker")


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option("--config", envvar="CHANGECAST_CONFIG", help="config.json to use"),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", envvar="CHANGECAST_DATA_DIR", help="data directory"),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="log debug events")] = False,
) -> None:
    """Global options come before the sub-command."""
    configure_logging(debug=verbose, stream=sys.stderr)
    ctx.obj = CliState(config=config, data_dir=data_dir)


def exit_code_for(error: ChangecastError) -> int:
    """Usage and configuration problems exit 2; every other failure exits 1."""
    return EXIT_USAGE if isinstance(error, InvalidInputError) else EXIT_FAILED


def main() -> None:
    """Run the CLI, mapping our errors to a message on stderr and an exit code."""
    try:
        code = app(standalone_mode=False)
    except ChangecastError as exc:
        err_console.print(f"[red]error[/red] ({exc.kind}): {exc.message}", highlight=False)
        details = getattr(exc, "details", None)
        for problem in details or []:
            err_console.print(f"  - {problem['field']}: {problem['problem']}", highlight=False)
        raise SystemExit(exit_code_for(exc)) from None
    except click.exceptions.Abort:
        err_console.print("aborted")
        raise SystemExit(130) from None
    except click.exceptions.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except click.ClickException as exc:
        exc.show()
        raise SystemExit(EXIT_USAGE) from None
    raise SystemExit(code if isinstance(code, int) else EXIT_OK)

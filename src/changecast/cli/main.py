"""The ``changecast`` entry point: global options, sub-commands, one error-to-exit-code map."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from typer import _click as click  # typer >= 0.24 vendors click: its exceptions, not click's
from typer.core import TyperCommand, TyperGroup

from changecast.errors import ChangecastError, InvalidInputError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

COMMANDS: dict[str, tuple[str, str]] = {
    "change": ("changecast.cli.changes", "Create, submit, approve and follow changes."),
    "announcement": (
        "changecast.cli.announcements",
        "Create, submit, approve and follow announcements.",
    ),
    "index": ("changecast.cli.index", "The derived SQL index: migrate, rebuild."),
    "local": ("changecast.cli.local", "The embedded system: moto, demo customers, API, workers."),
    "ses": ("changecast.cli.ses", "Every customer's SES: topics, contacts, domain, suppression."),
    "identity": ("changecast.cli.identity", "IAM Identity Center: import users as contacts."),
    "users": ("changecast.cli.users", "Known users' current roles, which their tokens act with."),
    "alt-contacts": ("changecast.cli.alt_contacts", "The customers' AWS alternate contacts."),
    "worker": ("changecast.cli.worker", "Delivery workers: one per customer's queue."),
    "scheduler": ("changecast.cli.scheduler", "Reminders, window notices, nudges: one tick."),
    "events": ("changecast.cli.events", "SES events: delivery outcomes and suppression."),
    "calendar": ("changecast.cli.calendar", "Customers' calendar feeds: rotate a feed token."),
    "serve": ("changecast.cli.serve", "Serve the portal and API (uvicorn)."),
    "deploy": ("changecast.cli.deploy", "Terraform inputs from config.json; run the migration."),
    "doctor": ("changecast.cli.doctor", "Check a deployed environment (read-only), with fixes."),
    "package": ("changecast.cli.package", "Build the Lambda packages."),
}
"""Each sub-command's module (holding ``app``, a Typer) and its one-line help.

Modules are imported only when their command runs, so ``changecast --help`` loads neither boto3
nor the domain models."""

PANELS: dict[str, str] = {  # the root --help's panels; the others are "Running in production"
    "change": "Notices",
    "announcement": "Notices",
    "local": "The embedded system",
    "ses": "Every customer's AWS",
    "identity": "Every customer's AWS",
    "alt-contacts": "Every customer's AWS",
    "calendar": "Every customer's AWS",
    "users": "Every customer's AWS",
}


SINGLE = frozenset({"serve", "doctor"})


class LazyGroup(TyperGroup):
    """The root group: sub-commands come from ``COMMANDS``, imported on first use."""

    _listing = False

    def list_commands(self, ctx: click.Context) -> list[str]:  # noqa: ARG002 - click's signature
        return list(COMMANDS)

    def get_command(
        self,
        ctx: click.Context,  # noqa: ARG002 - click's signature
        cmd_name: str,
    ) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, summary = COMMANDS[cmd_name]
        if self._listing:  # the root --help needs names and summaries only
            return TyperCommand(cmd_name, help=summary, short_help=summary)
        loaded: Any = importlib.import_module(module).app
        loaded._add_completion = False  # a sub-command, not a program of its own
        # A group stays a group even with one command (`worker run`); `serve` is a command.
        make = typer.main.get_command if cmd_name in SINGLE else typer.main.get_group
        command = make(loaded)
        command.name = cmd_name
        return command

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from changecast.cli.root_help import render

        self._listing = True
        try:
            formatter.write(render(ctx, self, PANELS, "Running in production"))
        finally:
            self._listing = False


app = typer.Typer(
    name="changecast",
    help="Write a change notice once; deliver it through every customer's own SES.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    cls=LazyGroup,
    rich_markup_mode=None,  # the root's help is cli.root_help (typer's rich help is slow)
)


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[
        str | None,
        typer.Option(
            "--config",
            envvar="CHANGECAST_CONFIG",
            help="config.json to use: a path or s3://bucket/key",
        ),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", envvar="CHANGECAST_DATA_DIR", help="data directory"),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="log debug events")] = False,
) -> None:
    """Global options come before the sub-command."""
    from changecast.cli.state import CliState
    from changecast.logging import configure_logging

    configure_logging(debug=verbose, stream=sys.stderr)
    ctx.obj = CliState(config=config, data_dir=data_dir, verbose=verbose)


def exit_code_for(error: ChangecastError) -> int:
    """Usage and configuration problems exit 2; every other failure exits 1."""
    return EXIT_USAGE if isinstance(error, InvalidInputError) else EXIT_FAILED


def main(args: Sequence[str] | None = None) -> None:
    """Run the CLI, mapping our errors to a message on stderr and an exit code."""
    try:
        code = app(args=args, prog_name="changecast", standalone_mode=False)
    except ChangecastError as exc:
        from rich.markup import escape

        from changecast.cli.state import err_console

        def say(text: str) -> None:
            err_console.print(text, highlight=False, soft_wrap=True)

        say(f"[red]error[/red] ({exc.kind}): {escape(exc.message)}")
        for problem in getattr(exc, "details", None) or []:
            if problem["problem"] not in exc.message:  # said once is enough
                say(f"  - {escape(problem['field'])}: {escape(problem['problem'])}")
        for finding in getattr(exc, "findings", None) or []:  # a gate refused (actions.gates)
            where = f" [{finding.customer_code}]" if finding.customer_code else ""
            say(f"  - {escape(finding.gate)}{escape(where)}: {escape(finding.message)}")
        if getattr(exc, "findings", None):
            say("  override with --override GATE=REASON")
        raise SystemExit(exit_code_for(exc)) from None
    except typer.Abort:
        sys.stderr.write("aborted\n")
        raise SystemExit(130) from None
    except typer.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except click.exceptions.ClickException as exc:
        from changecast.cli.usage import usage_error_lines

        sys.stderr.write("".join(f"{line}\n" for line in usage_error_lines(exc)))
        raise SystemExit(EXIT_USAGE) from None
    raise SystemExit(code if isinstance(code, int) else EXIT_OK)

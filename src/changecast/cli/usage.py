"""How a command-line mistake is shown: the command's usage line and one error line (exit 2).

Click's own rendering adds a hint line and a blank line; ours keeps to two lines, the hint
folded into the error line, so a script's log shows the whole mistake in one place.
"""

from __future__ import annotations

from typer import _click as click  # typer >= 0.24 vendors click: its exceptions, not click's
from typer._click.exceptions import NoArgsIsHelpError


def one_line(text: str) -> str:
    return " ".join(text.split())


def usage_error_lines(error: click.ClickException) -> list[str]:
    """``Usage: changecast … [OPTIONS]`` and ``Error: … (see 'changecast … --help')``."""
    if isinstance(error, NoArgsIsHelpError):  # a bare group: its help is what was asked for
        return [error.format_message().rstrip("\n")]
    ctx: click.Context | None = getattr(error, "ctx", None)
    if ctx is None:
        return [f"Error: {one_line(error.format_message())}"]
    hint = f" (see '{ctx.command_path} --help')" if ctx.command.get_help_option(ctx) else ""
    return [one_line(ctx.get_usage()), f"Error: {one_line(error.format_message())}{hint}"]

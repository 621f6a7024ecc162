"""``changecast --help`` in rich panels, like every sub-command's help, without typer's renderer.

Typer's rich help imports its markdown support (about a second on a busy machine); this draws
the same panels with rich's console, panel and table only.
"""

from __future__ import annotations

import io
import os
import shutil
import sys
from collections.abc import Iterable

from rich import box
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text
from typer import _click as click
from typer.core import TyperGroup


def _console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    columns = os.environ.get("COLUMNS", "")
    width = int(columns) if columns.isdigit() else shutil.get_terminal_size((100, 24)).columns
    tty = sys.stdout.isatty()
    return Console(file=out, width=min(width, 120), force_terminal=tty, no_color=not tty), out


def _panel(title: str, rows: Iterable[tuple[str, ...]]) -> Panel:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold cyan", no_wrap=True)
    grid.add_column(overflow="fold")
    for row in rows:
        grid.add_row(*(Text(cell) for cell in row))  # "[env var: …]" is text, not markup
    return Panel(
        grid, title=title, title_align="left", border_style="dim", box=box.ROUNDED, expand=True
    )


def _options(ctx: click.Context, command: click.Command) -> list[tuple[str, str]]:
    rows = []
    for param in command.get_params(ctx):
        if getattr(param, "param_type_name", "") != "option" or getattr(param, "hidden", False):
            continue
        names = ", ".join([*param.opts, *param.secondary_opts])
        words = str(getattr(param, "help", None) or "")
        envvar = getattr(param, "envvar", None)
        if envvar:
            words += f" [env var: {envvar}]"
        rows.append((names, words.strip()))
    return rows


def render(
    ctx: click.Context, group: TyperGroup, panels: dict[str, str], default_panel: str
) -> str:
    """The root group's help: usage, summary, then its options and commands in panels."""
    console, out = _console()
    usage = " ".join(group.collect_usage_pieces(ctx))
    grouped: dict[str, list[tuple[str, str]]] = {}
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if command is None or command.hidden:
            continue
        panel = panels.get(name, default_panel)
        grouped.setdefault(panel, []).append((name, command.get_short_help_str(limit=200)))
    parts: list[object] = [
        Text.assemble(" Usage: ", (f"{ctx.command_path} {usage}", "bold")),
        Text(""),
        Text(" " + (group.help or "").strip()),
        Text(""),
        _panel("Options", _options(ctx, group)),
    ]
    order = [*dict.fromkeys([*panels.values(), default_panel])]
    parts += [_panel(title, grouped[title]) for title in order if title in grouped]
    console.print(Group(*parts))  # type: ignore[arg-type]
    return out.getvalue()

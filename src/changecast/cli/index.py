"""``changecast index …``: the SQL index is derived data; rebuild it from S3 alone."""

from __future__ import annotations

import typer
from rich.table import Table

from changecast.changes.rebuild import rebuild_index
from changecast.cli.state import OutputFormat, OutputOpt, console, emit_json, state_of

app = typer.Typer(help="The derived SQL index.", no_args_is_help=True)


@app.command("rebuild")
def rebuild(ctx: typer.Context, output: OutputOpt = OutputFormat.TEXT) -> None:
    """Empty the index and load it again from the bucket (latest, drafts, versions, executions)."""
    runtime = state_of(ctx).runtime()
    report = rebuild_index(archive=runtime.archive, store=runtime.store, index=runtime.index)
    if output is OutputFormat.JSON:
        emit_json(report)
    else:
        table = Table("what", "count")
        for name in ("changes", "drafts", "versions", "executions"):
            table.add_row(name, str(getattr(report, name)))
        console.print(table)
        for problem in report.errors:
            console.print(f"[red]skipped[/red] {problem.key}: {problem.reason}", highlight=False)
    if report.errors:
        raise typer.Exit(1)

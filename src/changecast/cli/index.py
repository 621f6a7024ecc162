"""``changecast index …``: the SQL index is derived data; rebuild it from S3 alone."""

from __future__ import annotations

import typer
from rich.table import Table

from changecast.changes.rebuild import rebuild_index
from changecast.cli.state import OutputFormat, OutputOpt, console, emit_json, state_of

app = typer.Typer(help="The derived SQL index.", no_args_is_help=True)


@app.command("migrate")
def migrate(ctx: typer.Context, output: OutputOpt = OutputFormat.TEXT) -> None:
    """Bring the index schema to this release's revision (a deploy step; safe to repeat).

    Deployed processes never migrate on start: one that finds the schema behind refuses to run.
    """
    from changecast.index.engine import create_index_engine, run_migrations, schema_revision

    settings = state_of(ctx).runtime().settings
    engine = create_index_engine(settings.index_url)
    try:
        before = schema_revision(engine)
        after = run_migrations(engine)
        where = engine.url.render_as_string(hide_password=True)
    finally:
        engine.dispose()
    if output is OutputFormat.JSON:
        emit_json({"database": where, "before": before, "after": after})
    elif before == after:
        console.print(f"{where}: already at {after}", highlight=False)
    else:
        console.print(f"{where}: migrated {before or '(empty)'} → {after}", highlight=False)


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

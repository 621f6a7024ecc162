"""``changecast index …``: the SQL index is derived data; rebuild it from S3 alone."""

from __future__ import annotations

import typer
from rich.table import Table

from changecast.actions.rebuild import rebuild_index
from changecast.cli.state import (
    OutputFormat,
    OutputOpt,
    console,
    emit_json,
    said_by_the_output,
    state_of,
)

app = typer.Typer(help="The derived SQL index.", no_args_is_help=True)
EXIT_PARTIAL = 3
"""``index rebuild`` finished, but skipped documents it could not load (it names them)."""


@app.command("migrate")
def migrate(ctx: typer.Context, output: OutputOpt = OutputFormat.TEXT) -> None:
    """Bring the index schema to this release's revision (a deploy step; safe to repeat).

    Deployed processes never migrate on start: one that finds the schema behind refuses to run.
    """
    from changecast.index.engine import create_index_engine, run_migrations, schema_revision

    runtime = state_of(ctx).runtime()
    engine = create_index_engine(
        runtime.settings.index_url, credentials=runtime.database_credentials
    )
    try:
        before = schema_revision(engine)
        after = run_migrations(engine)
        where = engine.url.render_as_string(hide_password=True)
    finally:
        engine.dispose()
    if output is OutputFormat.JSON:
        emit_json({"database": where, "before": before, "after": after})
    elif before == after:
        console.print(f"{where}: already at {after}", highlight=False, soft_wrap=True)
    else:
        console.print(
            f"{where}: migrated {before or '(empty)'} → {after}", highlight=False, soft_wrap=True
        )


@app.command("optimize")
def optimize(ctx: typer.Context, output: OutputOpt = OutputFormat.TEXT) -> None:
    """Index upkeep (a scheduled job, daily): refresh planner statistics, vacuum, merge FTS5.

    PostgreSQL: ``VACUUM (ANALYZE)`` of the index tables; SQLite: merge the full-text segments
    that upserts leave behind, then ``ANALYZE``. Safe to run at any time, while serving.
    """
    import time

    from changecast.index.engine import open_index

    runtime = state_of(ctx).runtime()
    index = open_index(
        runtime.settings.index_url, migrate=False, credentials=runtime.database_credentials
    )
    started = time.perf_counter()
    try:
        index.optimize()
        where = index.engine.url.render_as_string(hide_password=True)
    finally:
        index.close()
    seconds = round(time.perf_counter() - started, 1)
    if output is OutputFormat.JSON:
        emit_json({"database": where, "seconds": seconds})
    else:
        console.print(f"{where}: optimized in {seconds} s", highlight=False)


@app.command("rebuild")
def rebuild(ctx: typer.Context, output: OutputOpt = OutputFormat.TEXT) -> None:
    """Empty the index and load it again from the bucket (latest, drafts, versions, executions).

    The audit index is reloaded from ``audit/`` as well (events missing from it are added). A
    document that cannot be loaded is skipped and named; one holding NUL is indexed without it
    and named. Exit 0: every document is in the index; 3: the rebuild finished but skipped the
    documents it names (the index is usable without them); 1: it stopped (the database failed).
    """
    state = state_of(ctx)
    runtime = state.runtime()
    with said_by_the_output(state):  # the table (or JSON) below is the report, not a log line
        report = rebuild_index(
            archive=runtime.archive,
            store=runtime.store,
            index=runtime.index,
            audit_index=runtime.audit_index,
            read_model=runtime.deliveries,
            surveys=runtime.surveys,
        )
    if output is OutputFormat.JSON:
        emit_json(report)
    else:
        table = Table("what", "count")
        for name in ("changes", "drafts", "versions", "executions", "audit_events"):
            table.add_row(name, str(getattr(report, name)))
        console.print(table)
        for problem in report.errors:
            console.print(f"[red]skipped[/red] {problem.key}: {problem.reason}", highlight=False)
        for problem in report.cleaned:
            console.print(
                f"[yellow]cleaned[/yellow] {problem.key}: {problem.reason}", highlight=False
            )
    if report.errors:
        raise typer.Exit(EXIT_PARTIAL)

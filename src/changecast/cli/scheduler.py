"""``changecast scheduler tick``: one scheduler pass (reminders, window notices, nudges), now.

The same tick EventBridge Scheduler runs every minute in AWS and ``local up`` runs in a thread;
running it by hand (or twice at once) is safe: each due notice is written and sent once.
"""

from __future__ import annotations

import typer

from changecast.cli.state import OutputFormat, OutputOpt, console, emit_json, state_of

app = typer.Typer(help="The scheduler: reminders, window notices and nudges.")


@app.command("tick")
def tick(ctx: typer.Context, output: OutputOpt = OutputFormat.TEXT) -> None:
    """Find what is due now and write its triggers; exits 1 when a trigger write failed."""
    from changecast.workers.scheduler import build_scheduler

    runtime = state_of(ctx).runtime()
    if runtime.settings.mode == "aws":
        runtime.settings.require_for("worker")
    report = build_scheduler(runtime).tick()
    if output is OutputFormat.JSON:
        emit_json(report.as_dict())
    else:
        console.print(
            f"due {report.due}: written {report.written}, already present "
            f"{report.already_present}, failed {report.failed}"
        )
    if report.failed:
        raise typer.Exit(1)

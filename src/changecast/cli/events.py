"""SES events on the command line: ``events run`` applies the hub ``ses-events`` queue.

The same worker as the Lambda (``changecast.workers.ses_events.handler``), as a long-poll loop
for ECS or a VM. ``local up`` runs it as a thread already.
"""

from __future__ import annotations

from typing import Annotated

import typer

from changecast.cli.state import err_console, state_of

app = typer.Typer(help="SES sending events: outcomes per recipient, suppression.")


@app.command("run")
def run(
    ctx: typer.Context,
    wait: Annotated[
        int | None, typer.Option("--wait", min=0, max=20, help="long-poll seconds (default 20)")
    ] = None,
) -> None:
    """Long-poll the hub ``ses-events`` queue (``CHANGECAST_EVENTS__QUEUE_URL``); apply each event.

    Each event's outcome goes to its ledger entry (by SES message id); a permanent bounce or a
    complaint suppresses the address; unknown or malformed events are dead-lettered with a
    reason. SIGTERM or Ctrl-C: the event in hand is finished, then the command exits 0.
    """
    from changecast.workers.ses_events import build_events_worker

    runtime = state_of(ctx).runtime()
    if runtime.settings.mode == "aws":
        runtime.settings.require_for("worker")
    worker = build_events_worker(runtime, wait_seconds=wait)
    worker.install_signal_handlers()
    err_console.print(f"applying SES events from {worker.queue.url}; stop with Ctrl-C")
    worker.run()
    err_console.print("events worker stopped")

"""``changecast worker run``: deliver one customer's queue until SIGTERM (then exit 0)."""

from __future__ import annotations

from typing import Annotated

import typer

from changecast.cli.state import err_console, state_of
from changecast.ids import parse_customer_code

app = typer.Typer(help="Delivery workers: one per customer, reading that customer's queue.")


@app.command("run")
def run(
    ctx: typer.Context,
    customer: Annotated[str, typer.Option("--customer", help="the customer code to deliver")],
    queue_url: Annotated[
        str | None,
        typer.Option("--queue-url", help="override the queue (default: from config.json)"),
    ] = None,
    wait: Annotated[
        int | None, typer.Option("--wait", min=0, max=20, help="long-poll seconds (default 20)")
    ] = None,
) -> None:
    """Long-poll the customer's queue and deliver each trigger through its SES.

    On SIGTERM or Ctrl-C the recipient in flight is finished, the unfinished message returns to
    the queue, and the command exits 0.
    """
    from changecast.workers.wiring import build_worker

    runtime = state_of(ctx).runtime()
    if runtime.settings.mode == "aws":
        runtime.settings.require_for("worker")
    code = parse_customer_code(customer)
    runtime.directory.get(code)
    index = runtime.index if runtime.settings.database_url else None
    worker = build_worker(runtime, code, index=index, queue_url=queue_url, wait_seconds=wait)
    worker.install_signal_handlers()
    err_console.print(f"delivering for {code} from {worker.queue.url}; stop with Ctrl-C")
    worker.run()
    err_console.print(f"worker for {code} stopped")

"""Delivery workers on the command line: ``worker run`` and ``worker redrive``.

``run`` delivers one customer's queue until SIGTERM (then exits 0); ``redrive`` moves its
dead-lettered triggers back to its queue.
"""

from __future__ import annotations

from typing import Annotated

import typer

from changecast.cli.state import console, err_console, state_of
from changecast.errors import InvalidInputError
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
    worker = build_worker(runtime, code, queue_url=queue_url, wait_seconds=wait)
    worker.install_signal_handlers()
    err_console.print(f"delivering for {code} from {worker.queue.url}; stop with Ctrl-C")
    worker.run()
    err_console.print(f"worker for {code} stopped")


@app.command("redrive")
def redrive(
    ctx: typer.Context,
    customer: Annotated[str, typer.Option("--customer", help="the customer whose DLQ to move")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="list the dead letters; move nothing")
    ] = False,
) -> None:
    """Move the customer's dead-lettered triggers back to its queue (or list them).

    A redriven trigger resumes from the ledger: recipients already sent are skipped.
    """
    from changecast.errors import NotFoundError
    from changecast.workers.redrive import redrive_dead_letters

    runtime = state_of(ctx).runtime()
    code = parse_customer_code(customer)
    try:
        runtime.directory.get(code)
    except NotFoundError as exc:
        raise InvalidInputError(exc.message, field="customer") from None
    letters = redrive_dead_letters(runtime=runtime, customer=code, dry_run=dry_run)
    for letter in letters:
        triggers = ", ".join(letter.triggers) or "(no trigger key)"
        console.print(
            f"{triggers}\treceives={letter.receives}\treason={letter.reason}",
            highlight=False,
            soft_wrap=True,
        )
    verb = "would move" if dry_run else "moved"
    err_console.print(f"{verb} {len(letters)} dead-lettered message(s) of {code} to its queue")

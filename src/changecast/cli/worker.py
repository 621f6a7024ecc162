"""Delivery workers on the command line: ``worker run`` and ``worker redrive``.

``run`` delivers one customer's queue until SIGTERM (then exits 0); ``redrive`` moves one
change's dead-lettered triggers (or, with --all, every one) back to its queue.
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
    change: Annotated[
        str | None,
        typer.Option("--change", help="move only this change's messages (a change id)"),
    ] = None,
    everything: Annotated[
        bool, typer.Option("--all", help="move every message of the DLQ, whatever its change")
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="list the dead letters and what each would do"),
    ] = False,
) -> None:
    """Move the customer's dead-lettered triggers of one change back to its queue (or list them).

    Each trigger is checked as the worker will check it: a trigger the change has moved past
    (an approval request of an approved version, a reminder after a cancel) is superseded and
    sends nothing. Without --change, moving every message needs --all or a confirmation. Other
    changes' messages stay in the DLQ. A redriven trigger resumes from the ledger.
    """
    from changecast.errors import NotFoundError
    from changecast.ids import parse_change_id
    from changecast.workers.redrive import redrive_dead_letters

    runtime = state_of(ctx).runtime()
    code = parse_customer_code(customer)
    try:
        runtime.directory.get(code)
    except NotFoundError as exc:
        raise InvalidInputError(exc.message, field="customer") from None
    if change is not None and everything:
        raise InvalidInputError("give either --change or --all, not both", field="change")
    wanted = None if change is None else str(parse_change_id(change))
    if wanted is None and not everything and not dry_run:
        _confirm_everything(code)
    letters = redrive_dead_letters(runtime=runtime, customer=code, change=wanted, dry_run=dry_run)
    shown = [letter for letter in letters if letter.selected]
    for letter in shown:
        checks = letter.checks or ()
        verdicts = "; ".join(f"{c.trigger}: {c.verdict}" for c in checks) or "(no trigger key)"
        console.print(
            f"{verdicts}\treceives={letter.receives}\treason={letter.reason}",
            highlight=False,
            soft_wrap=True,
        )
    superseded = sum(1 for letter in shown for c in letter.checks if c.superseded_by)
    verb = "would move" if dry_run else "moved"
    which = f"of change {wanted} " if wanted else ""
    err_console.print(
        f"{verb} {len(shown)} dead-lettered message(s) {which}of {code} to its queue "
        f"({superseded} superseded trigger(s) will send nothing); "
        f"{len(letters) - len(shown)} other message(s) left in the DLQ"
    )


def _confirm_everything(code: str) -> None:
    """Ask before moving every message of the DLQ; refusing (or no terminal) moves nothing."""
    try:
        answer = typer.confirm(
            f"Move every dead-lettered message of {code}, of every change, to its queue?",
            default=False,
            err=True,
        )
    except typer.Abort:
        answer = False
    if not answer:
        raise InvalidInputError(
            "nothing moved: name the change with --change ID, or pass --all to move every message",
            field="change",
        )

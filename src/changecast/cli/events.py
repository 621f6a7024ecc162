"""SES events on the command line: ``events run`` applies the hub ``ses-events`` queue.

The same worker as the Lambda (``changecast.workers.ses_events.handler``), as a long-poll loop
for ECS or a VM. ``local up`` runs it as a thread already. ``events replay`` publishes the
embedded SES's events again (``local up`` only), to see that a replay changes nothing.
"""

from __future__ import annotations

from typing import Annotated

import typer

from changecast.cli.state import OutputFormat, OutputOpt, console, emit_json, err_console, state_of
from changecast.errors import InvalidInputError, NotFoundError

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


@app.command("replay")
def replay(
    ctx: typer.Context,
    customer: Annotated[
        str | None, typer.Option("--customer", help="only this customer's events")
    ] = None,
    reverse: Annotated[bool, typer.Option("--reverse", help="newest first")] = False,
    times: Annotated[
        int, typer.Option("--times", min=1, max=10, help="publish each event this many times")
    ] = 1,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="count them; publish nothing")] = False,
    output: OutputOpt = OutputFormat.TEXT,
) -> None:
    """Publish the embedded SES's events again, through SNS to the ``ses-events`` queue.

    Only with ``local up``: its simulator keeps every event it published (``ses-events.jsonl``
    in the data directory). The running events worker applies them again; outcomes, counts and
    suppressions must not change. On AWS, SES publishes the real events: nothing to replay.
    """
    from changecast.aws.sns import SnsTopics
    from changecast.local.ses_simulator import JOURNAL, journal_events

    runtime = state_of(ctx).runtime()
    if runtime.local is None:
        raise InvalidInputError(
            "events replay needs a running `changecast local up`: on AWS, SES publishes the events"
        )
    if customer is not None:
        runtime.directory.get(customer)  # an unknown code is refused by name
    path = runtime.settings.data_dir / JOURNAL
    events = journal_events(path, customer=customer)
    if not events:
        raise NotFoundError(
            f"no SES events to replay in {path}" + (f" for {customer}" if customer else "")
        )
    order = list(reversed(events)) if reverse else events
    planned = order * times
    if not dry_run:
        topics = SnsTopics(runtime.aws.client("sns"))
        for topic, message in planned:
            topics.publish(topic, message)
    if output is OutputFormat.JSON:
        emit_json(
            {"events": len(events), "published": 0 if dry_run else len(planned), "reverse": reverse}
        )
        return
    verb = "would publish" if dry_run else "published"
    console.print(
        f"{verb} {len(planned)} SES events ({len(events)} in the journal"
        f"{', newest first' if reverse else ''}{f', {times} times' if times > 1 else ''})"
    )

"""``changecast local …``: run the whole system on this machine, with moto standing in for AWS."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from changecast.cli.state import OutputFormat, OutputOpt, console, emit_json, state_of
from changecast.cli.tables import folding_table, whole
from changecast.errors import NotFoundError, UpstreamError
from changecast.ids import parse_customer_code
from changecast.local_runtime import read_running

app = typer.Typer(help="The embedded system: moto, demo customers, API and workers.")

DataDirOpt = Annotated[
    Path | None, typer.Option("--data-dir", help="data directory (overrides the global option)")
]


def _data_dir(ctx: typer.Context, override: Path | None) -> Path:
    return (override or state_of(ctx).settings().data_dir).expanduser().resolve()


@app.command("up")
def up(
    ctx: typer.Context,
    customers: Annotated[int, typer.Option("--customers", min=1, max=300)] = 3,
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="portal/API port")] = 8000,
    aws_port: Annotated[
        int, typer.Option("--aws-port", min=0, max=65535, help="moto port (0: any free one)")
    ] = 0,
    data_dir: DataDirOpt = None,
    demo: Annotated[
        bool, typer.Option("--demo/--no-demo", help="demo changes on first start")
    ] = True,
    workers: Annotated[
        bool,
        typer.Option("--workers/--no-workers", help="deliver mail (one worker per customer)"),
    ] = True,
    ses_max_24h: Annotated[
        int | None,
        typer.Option(
            "--ses-max-24h",
            min=1,
            max=100_000_000,
            help="the embedded SES's daily quota per customer account, checked by preflight "
            "(default: config.json's local_ses from the last start, else 50000)",
        ),
    ] = None,
    ses_rate: Annotated[
        float | None,
        typer.Option(
            "--ses-rate",
            min=0.1,
            max=10_000,
            help="the embedded SES's max send rate per second, the workers' pace "
            "(default: config.json's local_ses from the last start, else 14)",
        ),
    ] = None,
) -> None:
    """Start everything and stay in the foreground until Ctrl-C (or SIGTERM)."""
    from changecast.local.system import LocalOptions, LocalSystem
    from changecast.web.app import create_app
    from changecast.workers.local import local_workers
    from changecast.workers.scheduler import LocalScheduler

    options = LocalOptions(
        data_dir=_data_dir(ctx, data_dir),
        customers=customers,
        port=port,
        aws_port=aws_port,
        demo=demo,
        ses_max_24h=ses_max_24h,
        ses_rate=ses_rate,
    )
    system = LocalSystem(options, api=create_app)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    if workers:
        system.background.extend(local_workers(options))
        system.background.append(LocalScheduler())  # reminders, window notices, nudges
    local = system.start()
    try:
        _print_up(local.portal_url, local.aws_endpoint_url, options.data_dir, list(local.customers))
        stop.wait()
    finally:
        console.print("stopping…")
        system.stop()
    console.print(f"stopped; data kept in {options.data_dir}")


def _print_up(portal: str, endpoint: str, data_dir: Path, customers: list[str]) -> None:
    table = Table(show_header=False, box=None)
    table.add_row("portal / API", portal, f"(OpenAPI: {portal}/docs)")
    table.add_row("AWS (moto)", endpoint)
    table.add_row("data", str(data_dir))
    table.add_row("customers", ", ".join(customers))
    console.print("[bold green]changecast is running[/bold green]")
    console.print(table)
    console.print("try: changecast change list   ·   stop with Ctrl-C")


@app.command("status")
def status(
    ctx: typer.Context, data_dir: DataDirOpt = None, output: OutputOpt = OutputFormat.TEXT
) -> None:
    """Whether an embedded system runs on the data directory, and where."""
    local = read_running(_data_dir(ctx, data_dir))
    if output is OutputFormat.JSON:
        emit_json(local.model_dump() if local else {"running": False})
    elif local is None:
        console.print("not running")
    else:
        _print_up(
            local.portal_url,
            local.aws_endpoint_url,
            _data_dir(ctx, data_dir),
            list(local.customers),
        )
    if local is None:
        raise typer.Exit(1)


@app.command("down")
def down(ctx: typer.Context, data_dir: DataDirOpt = None) -> None:
    """Stop the embedded system running on the data directory (it keeps its data)."""
    directory = _data_dir(ctx, data_dir)
    local = read_running(directory)
    if local is None:
        raise NotFoundError(f"nothing is running on {directory}")
    os.kill(local.pid, signal.SIGTERM)
    for _ in range(100):
        if read_running(directory) is None:
            console.print("stopped")
            return
        time.sleep(0.1)
    console.print("asked it to stop; it has not finished yet")


def _fetch_outbox(portal_url: str, customer: str, actor: str) -> list[dict[str, Any]]:
    """Ask the running system's API (moto's SES store lives in the ``local up`` process)."""
    import httpx

    try:
        with httpx.Client(base_url=portal_url, timeout=30) as client:
            login = client.post("/auth/dev-login", data={"email": actor, "role": "ReadOnly"})
            login.raise_for_status()
            answer = client.get("/api/local/outbox", params={"customer": customer})
    except httpx.HTTPError as exc:
        message = f"the local API at {portal_url} did not answer: {exc}"
        raise UpstreamError(message, retryable=True) from None
    if answer.status_code == 404:
        raise NotFoundError(answer.json().get("error", {}).get("message", "not found"))
    if answer.status_code != 200:
        raise UpstreamError(f"the local API answered {answer.status_code}", retryable=False)
    items: list[dict[str, Any]] = answer.json()
    return items


@app.command("outbox")
def outbox(
    ctx: typer.Context,
    customer: Annotated[str, typer.Option("--customer", help="the customer whose SES to read")],
    as_json: Annotated[
        bool, typer.Option("--json", help="print JSON (like --output json)")
    ] = False,
    data_dir: DataDirOpt = None,
    output: OutputOpt = OutputFormat.TEXT,
) -> None:
    """What the embedded SES sent for a customer: subject, recipient, topic, invite."""
    code = parse_customer_code(customer)
    directory = _data_dir(ctx, data_dir)
    local = read_running(directory)
    if local is None:
        raise NotFoundError(f"nothing is running on {directory}; start it with changecast local up")
    actor = state_of(ctx).settings().actor or "cli@changecast.local"
    items = _fetch_outbox(local.portal_url, code, actor)
    if as_json or output is OutputFormat.JSON:
        emit_json(items)
        return
    table = folding_table("subject", whole("recipient"), "topic", "invite")
    for item in items:
        invite = item.get("invite") or {}
        table.add_row(
            item["subject"],
            ", ".join(item["recipients"]),
            item.get("topic") or "?",
            f"{invite['method']} seq {invite['sequence']}" if invite else "",
        )
    console.print(table)
    console.print(f"{len(items)} message(s) sent by {code}'s SES")

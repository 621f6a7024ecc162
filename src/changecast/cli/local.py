"""``changecast local …``: run the whole system on this machine, with moto standing in for AWS."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from changecast.cli.state import OutputFormat, OutputOpt, console, emit_json, state_of
from changecast.errors import NotFoundError
from changecast.local.runtime import read_running

app = typer.Typer(help="The embedded system: moto, demo customers, API and workers.")

DataDirOpt = Annotated[
    Path | None, typer.Option("--data-dir", help="data directory (overrides the global option)")
]


def _data_dir(ctx: typer.Context, override: Path | None) -> Path:
    return (override or state_of(ctx).settings().data_dir).expanduser().resolve()


@app.command("up")
def up(
    ctx: typer.Context,
    customers: Annotated[int, typer.Option("--customers", min=1, max=60)] = 3,
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="portal/API port")] = 8000,
    aws_port: Annotated[
        int, typer.Option("--aws-port", min=0, max=65535, help="moto port (0: any free one)")
    ] = 0,
    data_dir: DataDirOpt = None,
    demo: Annotated[
        bool, typer.Option("--demo/--no-demo", help="demo changes on first start")
    ] = True,
) -> None:
    """Start everything and stay in the foreground until Ctrl-C (or SIGTERM)."""
    from changecast.local.system import LocalOptions, LocalSystem
    from changecast.workers.local import local_workers

    options = LocalOptions(
        data_dir=_data_dir(ctx, data_dir),
        customers=customers,
        port=port,
        aws_port=aws_port,
        demo=demo,
    )
    system = LocalSystem(options)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    system.background.extend(local_workers(options))
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

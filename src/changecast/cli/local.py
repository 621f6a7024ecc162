"""``changecast local …``: run the whole system on this machine, with moto standing in for AWS."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import sys
import threading
import time
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer
from rich.table import Table

from changecast.cli.state import (
    OutputFormat,
    OutputOpt,
    console,
    emit_json,
    no_local_up,
    state_of,
)
from changecast.cli.tables import folding_table, whole
from changecast.errors import ConflictError, NotFoundError, UpstreamError
from changecast.ids import parse_customer_code
from changecast.local_runtime import read_running

app = typer.Typer(help="The embedded system: moto, demo customers, API and workers.")

DataDirOpt = Annotated[
    Path | None, typer.Option("--data-dir", help="data directory (overrides the global option)")
]


def _data_dir(ctx: typer.Context, override: Path | None) -> Path:
    return (override or state_of(ctx).settings().data_dir).expanduser().resolve()


LOG_NAME = "local-up.log"
DEMO_WRITER = "alice@ccoe.example.com"
DEMO_APPROVER = "bob@ccoe.example.com"


@dataclass(frozen=True)
class Launcher:
    """How the person started ``local up``, so that every hint is in the words they used.

    ``make up`` passes ``--via make`` (hidden): then a port is chosen with ``make up PORT=…``
    and the CLI is this clone's ``./changecast`` (which defaults to its ``.changecast/``).
    """

    via: str
    clone: Path

    @property
    def make(self) -> bool:
        return self.via == "make"

    def choose_port(self, port: int) -> str:
        return f"make up PORT={port}" if self.make else f"--port {port}"

    def choose_data_dir(self) -> str:
        return "make up DATA_DIR=… PORT=…" if self.make else "--data-dir DIR --port N"

    def cli_line(self, data_dir: Path, args: str) -> str:
        """A command that works exactly as printed, in any terminal."""
        shim = self.clone / "changecast"
        if self.make and shim.is_file():
            env = (
                "" if data_dir == self.clone / ".changecast" else f"CHANGECAST_DATA_DIR={data_dir} "
            )
            return f"cd {self.clone} && {env}./changecast {args}"
        return f"CHANGECAST_DATA_DIR={data_dir} {_program()} {args}"


def _program() -> str:
    """The running program: ``changecast`` when that is it on PATH, else its full path."""
    me = Path(sys.argv[0]).resolve() if sys.argv and sys.argv[0] else None
    found = shutil.which("changecast")
    if me is None or me.suffix == ".py" or me.name == "__main__.py":
        return f"{sys.executable} -m changecast"
    if found and Path(found).resolve() == me:
        return "changecast"
    return str(me)


def _next_free_port(host: str, port: int) -> int | None:
    for candidate in range(port + 1, min(port + 50, 65536)):
        with socket.socket() as sock:
            try:
                sock.bind((host, candidate))
            except OSError:
                continue
            return candidate
    return None


def _logs_to(path: Path) -> TextIO:
    """Send every log line of this process (ours as JSON, moto's and werkzeug's) to ``path``.

    The previous run's log is kept beside it as ``local-up.previous.log``.
    """
    from changecast.logging import configure_logging

    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.replace(path.with_name(path.stem + ".previous" + path.suffix))
    stream = path.open("w", encoding="utf-8", buffering=1)
    configure_logging(json_output=True, stream=stream)
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    logging.captureWarnings(True)  # a library's warnings too, not on the terminal
    return stream


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
    log_file: Annotated[
        Path | None,
        typer.Option("--log-file", help=f"where the log goes (default: DATA_DIR/{LOG_NAME})"),
    ] = None,
    via: Annotated[str, typer.Option("--via", hidden=True)] = "cli",
) -> None:
    """Start everything and stay in the foreground until Ctrl-C (or SIGTERM).

    The terminal shows a start line and, once everything is ready, a short banner (the URL,
    who to sign in as, a CLI line, how to stop); every log line goes to the log file.
    """
    from changecast.local.system import LocalOptions, LocalSystem, PortInUseError, claim_port
    from changecast.web.app import create_app
    from changecast.workers.local import local_workers
    from changecast.workers.scheduler import LocalScheduler

    launcher = Launcher(via=via, clone=Path.cwd().resolve())
    directory = _data_dir(ctx, data_dir)
    running = read_running(directory)
    if running is not None:
        raise ConflictError(
            f"changecast local is already running on {directory} ({running.portal_url}); "
            f"stop it with Ctrl-C in its terminal, or start another with "
            f"{launcher.choose_data_dir()}"
        )
    options = LocalOptions(
        data_dir=directory,
        customers=customers,
        port=port,
        aws_port=aws_port,
        demo=demo,
        ses_max_24h=ses_max_24h,
        ses_rate=ses_rate,
    )
    try:  # say a busy port before anything is provisioned
        claim_port(options.host, port).close()
    except PortInUseError as exc:
        free = _next_free_port(options.host, port)
        hint = f"; choose another: {launcher.choose_port(free)}" if free else ""
        raise ConflictError(f"{exc.message}{hint}", port=port) from None
    log_path = (log_file or directory / LOG_NAME).expanduser().resolve()
    url = f"http://{options.host}:{port}"
    console.print(
        f"starting changecast on {url} (log: {log_path}) …", highlight=False, soft_wrap=True
    )
    log_stream = _logs_to(log_path)
    system = LocalSystem(options, api=create_app)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    if workers:
        system.background.extend(local_workers(options))
        system.background.append(LocalScheduler())  # reminders, window notices, nudges
    try:
        local = system.start()
    except PortInUseError as exc:  # taken between the check and the start
        raise ConflictError(
            f"{exc.message}; choose another: {launcher.choose_port(port + 1)}"
        ) from None
    try:
        _banner(launcher, local.portal_url, directory, log_path)
        stop.wait()
    finally:
        console.print("stopping…")
        system.stop()
        with suppress(OSError):
            log_stream.flush()
    console.print(f"stopped; data kept in {options.data_dir}", highlight=False, soft_wrap=True)


def _banner(launcher: Launcher, portal: str, data_dir: Path, log_path: Path) -> None:
    """The last thing ``local up`` prints: where, who, a CLI line that works, how to stop.

    Lines are never wrapped by us (``soft_wrap``): a command copied from here runs as is.
    """

    def say(text: str) -> None:
        console.print(text, highlight=False, soft_wrap=True)

    say(f"[bold green]changecast is running:[/bold green] {portal}   (API docs: {portal}/docs)")
    say(
        f"  sign in as  {DEMO_WRITER} (writes changes) or {DEMO_APPROVER} (approves them);"
        " role ChangeManager, no password in local mode"
    )
    say("  CLI, in another terminal:")
    say(f"    {launcher.cli_line(data_dir, 'change list')}")
    say(f"  stop        Ctrl-C (the data stays in {data_dir}; log: {log_path})")


def _print_up(portal: str, endpoint: str, data_dir: Path, customers: list[str]) -> None:
    table = Table(show_header=False, box=None)
    table.add_row("portal / API", portal, f"(OpenAPI: {portal}/docs)")
    table.add_row("AWS (moto)", endpoint)
    table.add_row("data", str(data_dir))
    table.add_row("customers", ", ".join(customers))
    console.print("[bold green]changecast is running[/bold green]")
    console.print(table)


@app.command("status")
def status(
    ctx: typer.Context, data_dir: DataDirOpt = None, output: OutputOpt = OutputFormat.TEXT
) -> None:
    """Whether an embedded system runs on the data directory, and where."""
    local = read_running(_data_dir(ctx, data_dir))
    if output is OutputFormat.JSON:
        emit_json(local.model_dump() if local else {"running": False})
    elif local is None:
        console.print(f"no local up is running on {_data_dir(ctx, data_dir)}", highlight=False)
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
        raise NotFoundError(f"no local up is running on {directory}")
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
        raise NotFoundError(no_local_up(directory))
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

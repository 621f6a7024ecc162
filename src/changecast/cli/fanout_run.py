"""Runs one task for many customers at once: threads, a progress bar, one block per customer.

Ends with a summary table (real wall time) or JSON; a failed customer makes the command exit 1.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import structlog
from rich.console import Console, Group, RenderableType
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.rule import Rule
from rich.table import Table

from changecast.cli.state import OutputFormat, console, emit_json, err_console
from changecast.cli.tables import folding_table, whole
from changecast.customers.models import CustomerMapping
from changecast.errors import ChangecastError

log = structlog.get_logger()


class CustomersFailedError(ChangecastError):
    """At least one customer failed; the summary table says which and why."""

    kind = "customers_failed"


class Status(StrEnum):
    OK = "ok"
    FAILED = "failed"


@dataclass
class CustomerReport:
    """What one customer's task produces: a text block, JSON data and a one-line detail."""

    mapping: CustomerMapping
    blocks: list[RenderableType] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    detail: str = ""

    def print(self, *items: RenderableType) -> None:
        self.blocks.extend(items)


CustomerTask = Callable[[CustomerMapping, CustomerReport], None]


@dataclass(frozen=True)
class CustomerOutcome:
    code: str
    name: str
    status: Status
    seconds: float
    detail: str
    data: dict[str, Any]
    error_kind: str | None = None


@dataclass(frozen=True)
class FanoutResult:
    command: str
    outcomes: tuple[CustomerOutcome, ...]
    wall_seconds: float

    @property
    def failed(self) -> tuple[CustomerOutcome, ...]:
        return tuple(o for o in self.outcomes if o.status is Status.FAILED)

    @property
    def slowest_seconds(self) -> float:
        return max((o.seconds for o in self.outcomes), default=0.0)

    @property
    def summed_seconds(self) -> float:
        return sum(o.seconds for o in self.outcomes)


def _run_one(
    task: CustomerTask, mapping: CustomerMapping, go: threading.Event
) -> tuple[CustomerOutcome, CustomerReport]:
    go.wait()
    report = CustomerReport(mapping)
    started = time.perf_counter()
    status, kind = Status.OK, None
    with structlog.contextvars.bound_contextvars(customer=mapping.customer_code):
        try:
            task(mapping, report)
        except ChangecastError as exc:
            status, kind, report.detail = Status.FAILED, exc.kind, exc.message
            log.warning("customer_failed", kind=exc.kind, error=exc.message)
        except Exception as exc:  # the top of one customer's work: report it, keep the others
            status, kind = Status.FAILED, "internal"
            report.detail = f"internal error: {type(exc).__name__}: {exc}"
            log.exception("customer_crashed")
    outcome = CustomerOutcome(
        code=mapping.customer_code,
        name=mapping.customer_name,
        status=status,
        seconds=time.perf_counter() - started,
        detail=report.detail,
        data=report.data,
        error_kind=kind,
    )
    return outcome, report


def _block(outcome: CustomerOutcome, report: CustomerReport) -> RenderableType:
    colour = "green" if outcome.status is Status.OK else "red"
    title = (
        f"[bold]{outcome.code}[/bold] ({outcome.name}) "
        f"[{colour}]{outcome.status.value}[/{colour}] {outcome.seconds:.2f}s"
    )
    items: list[RenderableType] = [Rule(title, align="left")]
    items.extend(report.blocks)
    if outcome.status is Status.FAILED:
        items.append(f"[red]error[/red]: {outcome.detail}")
    return Group(*items)


def run_fanout(
    command: str,
    mappings: Sequence[CustomerMapping],
    task: CustomerTask,
    *,
    concurrency: int | None = None,
    output: OutputFormat = OutputFormat.TEXT,
    out: Console | None = None,
) -> FanoutResult:
    """Run ``task`` for every customer in threads; print each block as its customer finishes."""
    out = out or console
    shown = out if output is OutputFormat.TEXT else err_console
    workers = max(1, min(concurrency or len(mappings), len(mappings)))
    outcomes: list[CustomerOutcome] = []
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=shown,
        transient=True,
    )
    go = threading.Event()  # every worker starts together once all are submitted
    started = time.perf_counter()
    with progress, ThreadPoolExecutor(max_workers=workers, thread_name_prefix="customer") as pool:
        bar = progress.add_task(command, total=len(mappings))
        futures: list[Future[tuple[CustomerOutcome, CustomerReport]]] = []
        try:
            futures.extend(pool.submit(_run_one, task, mapping, go) for mapping in mappings)
        finally:
            go.set()
        for done in as_completed(futures):
            outcome, report = done.result()
            outcomes.append(outcome)
            if output is OutputFormat.TEXT:
                progress.console.print(_block(outcome, report))
            progress.advance(bar)
    wall = time.perf_counter() - started
    ordered = tuple(sorted(outcomes, key=lambda o: o.code))
    return FanoutResult(command=command, outcomes=ordered, wall_seconds=wall)


def summary_table(result: FanoutResult) -> Table:
    table = folding_table(whole("customer"), "status", "duration", "detail", title=result.command)
    for o in result.outcomes:
        colour = "green" if o.status is Status.OK else "red"
        table.add_row(
            o.code, f"[{colour}]{o.status.value}[/{colour}]", f"{o.seconds:.2f}s", o.detail
        )
    table.caption = (
        f"{len(result.outcomes) - len(result.failed)} ok, {len(result.failed)} failed; "
        f"wall time {result.wall_seconds:.2f}s "
        f"(customer durations add up to {result.summed_seconds:.2f}s)"
    )
    return table


def result_json(result: FanoutResult) -> dict[str, Any]:
    return {
        "command": result.command,
        "wall_seconds": round(result.wall_seconds, 3),
        "ok": len(result.outcomes) - len(result.failed),
        "failed": len(result.failed),
        "customers": [
            {
                "customer": o.code,
                "status": o.status.value,
                "duration_seconds": round(o.seconds, 3),
                "detail": o.detail,
                **({"error_kind": o.error_kind} if o.error_kind else {}),
                "data": o.data,
            }
            for o in result.outcomes
        ],
    }


def finish(
    result: FanoutResult,
    output: OutputFormat,
    *,
    out: Console | None = None,
    extra: dict[str, Any] | None = None,
    failures: Sequence[str] = (),
) -> None:
    """Print the summary (table or JSON, with ``extra``); exit 1 on any failure.

    ``CustomersFailedError`` when a customer failed, or ``failures`` (not of one customer).
    """
    if output is OutputFormat.JSON:
        emit_json(result_json(result) | (extra or {}))
    else:
        (out or console).print(summary_table(result))
    if failures and not result.failed:
        raise CustomersFailedError("; ".join(failures)[:1000])
    if result.failed:
        codes = ", ".join(o.code for o in result.failed[:10])
        also = "".join(f"; {failure}" for failure in failures)
        raise CustomersFailedError(
            f"{len(result.failed)} of {len(result.outcomes)} customers failed: {codes}{also}"[:1000]
        )

"""``@fanout_command``: one per-customer command from a function that returns a customer's task.

The options every such command shares (``--customer``/``--all``, concurrency, ``--dry-run``,
``--output``), the customer selection (a usage error exits 2), and the decorator that adds them;
running and reporting is ``fanout_run``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from inspect import Parameter, Signature, signature
from typing import Annotated, Any, Concatenate, ParamSpec, get_type_hints

import typer
from rich.console import RenderableType
from typer import _click as click  # typer >= 0.24 vendors click

from changecast.cli.customer_aws import CustomerAws
from changecast.cli.fanout_run import (
    CustomerReport,
    CustomerTask,
    FanoutResult,
    finish,
    run_fanout,
)
from changecast.cli.state import OutputFormat, OutputOpt, console
from changecast.customers.directory import CustomerDirectory
from changecast.customers.models import CustomerMapping
from changecast.errors import InvalidInputError

__all__ = [
    "CustomerReport",
    "CustomerSelectionError",
    "CustomerTask",
    "Fanout",
    "FanoutOptions",
    "fanout_command",
    "select_customers",
]

CustomersOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--customer", "-c", help="a customer code; repeat for several", show_default=False
    ),
]
AllOpt = Annotated[bool, typer.Option("--all", help="every customer in config.json")]
ConcurrencyOpt = Annotated[
    int | None,
    typer.Option(
        "--max-customer-concurrency",
        min=1,
        max=512,
        help="customers worked on at once (default: all of them)",
        show_default=False,
    ),
]
DryRunOpt = Annotated[
    bool, typer.Option("--dry-run", help="show what would change; change nothing")
]


class CustomerSelectionError(InvalidInputError):
    """Neither --customer nor --all, both, or an unknown customer code."""


@dataclass(frozen=True)
class FanoutOptions:
    """The options every per-customer command takes."""

    customers: tuple[str, ...] = ()
    all_customers: bool = False
    concurrency: int | None = None
    output: OutputFormat = OutputFormat.TEXT

    @classmethod
    def of(
        cls,
        customers: Sequence[str] | None,
        all_customers: bool,
        concurrency: int | None,
        output: OutputFormat,
    ) -> FanoutOptions:
        return cls(tuple(customers or ()), all_customers, concurrency, output)


def select_customers(
    directory: CustomerDirectory, codes: Sequence[str], all_customers: bool
) -> list[CustomerMapping]:
    """The customers named by --customer, or all of them with --all; usage errors exit 2."""
    if all_customers and codes:
        raise CustomerSelectionError("use either --customer or --all, not both")
    if all_customers:
        return [directory.get(code) for code in directory.codes]
    if not codes:
        raise CustomerSelectionError("name customers with --customer CODE (repeatable) or --all")
    unknown = directory.unknown(codes)
    if unknown:
        known = ", ".join(directory.codes[:20])
        raise CustomerSelectionError(
            f"unknown customer code(s): {', '.join(unknown[:10])} (known: {known})",
            customers=unknown[:10],
        )
    return [directory.get(code) for code in dict.fromkeys(codes)]


class Fanout:
    """What a ``@fanout_command`` function gets first: its context, options and customers' AWS."""

    def __init__(self, ctx: typer.Context, options: FanoutOptions, *, dry_run: bool) -> None:
        self.ctx = ctx
        self.options = options
        self.dry_run = dry_run
        self.before: list[RenderableType] = []
        """Printed before the customers' blocks (text output): checks not of one customer."""
        self.extra: dict[str, Any] = {}
        """Added to the JSON document (``--output json``)."""
        self.failures: list[str] = []
        """Failures not of one customer: the command exits 1 after the summary."""

    @cached_property
    def aws(self) -> CustomerAws:
        """Every customer's adapters; config.json is loaded first, so its errors name it."""
        aws = CustomerAws.of(self.ctx)
        aws.runtime.directory  # noqa: B018 - loads and checks config.json before SESConfig.json
        return aws

    @cached_property
    def customers(self) -> list[CustomerMapping]:
        """The customers chosen by --customer/--all; a bad choice is a usage error (exit 2)."""
        directory = self.aws.runtime.directory
        return select_customers(directory, self.options.customers, self.options.all_customers)

    @property
    def command(self) -> str:
        """The command as typed, without the program: ``ses contacts list``."""
        names: list[str] = []
        ctx: click.Context | None = self.ctx
        while ctx is not None and ctx.parent is not None:
            names.append(ctx.info_name or "")
            ctx = ctx.parent
        return " ".join(reversed(names))

    def run(self, task: CustomerTask) -> FanoutResult:
        """Select, warm the hub session (in this thread), run, summarise; exit 1 on a failure."""
        mappings = self.customers
        self.aws.warm()
        if self.before and self.options.output is OutputFormat.TEXT:
            console.print(*self.before)
        result = run_fanout(
            self.command,
            mappings,
            task,
            concurrency=self.options.concurrency,
            output=self.options.output,
        )
        finish(result, self.options.output, extra=self.extra, failures=self.failures)
        return result


P = ParamSpec("P")
CommandBody = Callable[Concatenate[Fanout, P], CustomerTask]
_SHARED: tuple[tuple[str, Any, Any], ...] = (
    ("customer", CustomersOpt, None),
    ("all_customers", AllOpt, False),
    ("concurrency", ConcurrencyOpt, None),
    ("dry_run", DryRunOpt, False),
    ("output", OutputOpt, OutputFormat.TEXT),
)


def _keyword(name: str, annotation: Any, default: Any = Parameter.empty) -> Parameter:
    return Parameter(name, Parameter.KEYWORD_ONLY, annotation=annotation, default=default)


def fanout_command(*, dry_run: bool = False) -> Callable[[CommandBody[P]], Callable[..., None]]:
    """Make a per-customer command from a function that returns one customer's task.

    The function takes a :class:`Fanout` first, then its own Typer parameters, and returns the
    task run for every customer. The command gains ``--customer/-c`` (repeatable), ``--all``,
    ``--max-customer-concurrency``, ``--dry-run`` (with ``dry_run=True``; read ``fan.dry_run``)
    and ``--output``; it prints a block per customer and a summary (or JSON), and exits 0 (all
    ok), 1 (a customer failed) or 2 (usage). Register it as usual::

        @app.command("list")
        @fanout_command()
        def list_things(fan: Fanout, topic: TopicOpt = None) -> CustomerTask:
            \"\"\"Help text, as for any command.\"\"\"
            def task(mapping: CustomerMapping, report: CustomerReport) -> None: ...
            return task
    """
    shared = [item for item in _SHARED if dry_run or item[0] != "dry_run"]

    def decorate(body: CommandBody[P]) -> Callable[..., None]:
        make_task: Callable[..., CustomerTask] = body  # called with the body's own keywords
        hints = get_type_hints(body, include_extras=True)
        own = [
            _keyword(p.name, hints.get(p.name, p.annotation), p.default)
            for p in list(signature(body).parameters.values())[1:]
        ]
        taken = {"ctx"} | {name for name, _, _ in shared}
        if clash := sorted(taken & {p.name for p in own}):
            raise TypeError(f"{body.__name__}: @fanout_command adds {', '.join(clash)} itself")

        @functools.wraps(body)
        def command(**values: Any) -> None:
            ctx = values.pop("ctx")
            options = FanoutOptions.of(
                values.pop("customer"),
                values.pop("all_customers"),
                values.pop("concurrency"),
                values.pop("output"),
            )
            fan = Fanout(ctx, options, dry_run=bool(values.pop("dry_run", False)))
            fan.run(make_task(fan, **values))

        params = [
            _keyword("ctx", typer.Context),
            *own,
            *(_keyword(name, kind, default) for name, kind, default in shared),
        ]
        # Typer reads the signature and the annotations: the body's own, then the shared ones.
        command.__signature__ = Signature(params, return_annotation=None)  # type: ignore[attr-defined]
        command.__annotations__ = {p.name: p.annotation for p in params} | {"return": None}
        return command

    return decorate

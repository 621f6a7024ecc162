"""``@fanout_command``: the shared options come once, after the command's own, with its help."""

from __future__ import annotations

from typing import Annotated

import pytest
import typer
from typer.main import get_command
from typer.testing import CliRunner

from changecast.cli.fanout import CustomerReport, CustomerTask, Fanout, fanout_command
from changecast.customers.models import CustomerMapping

SHARED = ["customer", "all_customers", "concurrency", "output"]


def _noop(mapping: CustomerMapping, report: CustomerReport) -> None:
    report.detail = mapping.customer_code


def build(*, dry_run: bool) -> typer.Typer:
    app = typer.Typer()

    @app.command("probe")
    @fanout_command(dry_run=dry_run)
    def probe(
        fan: Fanout,
        names: Annotated[list[str], typer.Argument(help="some names")],
        topic: Annotated[str | None, typer.Option("--topic", help="one topic")] = None,
    ) -> CustomerTask:
        """Probe each customer for its topic."""
        return _noop

    @app.command("other")
    def other() -> None:
        """So that the app is a group."""

    return app


@pytest.mark.parametrize("dry_run", [False, True])
def test_the_shared_options_follow_the_commands_own(dry_run: bool) -> None:
    group = get_command(build(dry_run=dry_run))
    command = group.commands["probe"]  # type: ignore[attr-defined]
    names = [p.name for p in command.params]
    shared = SHARED[:3] + (["dry_run"] if dry_run else []) + SHARED[3:]
    assert names == ["names", "topic", *shared]


def test_help_keeps_the_docstring_and_lists_every_option() -> None:
    shown = CliRunner().invoke(build(dry_run=True), ["probe", "--help"], env={"COLUMNS": "120"})
    assert shown.exit_code == 0
    text = shown.stdout
    assert "Probe each customer for its topic." in text
    for option in ("--topic", "--customer", "-c", "--all", "--max-customer-concurrency"):
        assert option in text
    assert "--dry-run" in text
    assert "--output" in text


def test_a_body_may_not_declare_a_shared_option() -> None:
    with pytest.raises(TypeError, match="adds customer itself"):

        @fanout_command()
        def clash(fan: Fanout, customer: str = "") -> CustomerTask:
            return _noop

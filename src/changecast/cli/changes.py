"""``changecast change …``: the whole change lifecycle without a browser."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from pydantic import ValidationError
from rich.markup import escape
from rich.table import Column, Table

from changecast.actions import drafts, pipeline, service
from changecast.actions.context import ActionResult
from changecast.actions.gates import GATED_ACTIONS, parse_overrides
from changecast.actions.pipeline import RETRY, ActionRequest
from changecast.changes.models import (
    Action,
    Change,
    ChangeEdit,
    ChangeInput,
    ChangePage,
    ChangeQuery,
    ChangeStatus,
    HistoryEntry,
)
from changecast.changes.past_window import window_over
from changecast.cli.change_ids import resolve_change_id
from changecast.cli.state import (
    OutputFormat,
    OutputOpt,
    console,
    emit_json,
    err_console,
    state_of,
)
from changecast.cli.tables import WIDE, folding_table, list_style, whole
from changecast.distribution.models import DistributionReport, TriggerOutcome
from changecast.errors import FieldProblem, InvalidInputError, problems_from_pydantic
from changecast.json_depth import MAX_JSON_DEPTH, too_deep

app = typer.Typer(help="Create, submit, approve and follow changes.", no_args_is_help=True)

IdArg = Annotated[
    str, typer.Argument(help="the change id, or a unique start of it (8 hex digits or more)")
]
CommentOpt = Annotated[
    str | None,
    typer.Option(
        "--comment",
        help=(
            "a note for the history; a cancel's (or a rejection's that withdraws an approved "
            "version) is sent to the customers as the reason"
        ),
    ),
]
OverrideOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--override",
        metavar="GATE=REASON",
        help="act past a gate's blocking findings, with a reason (repeatable; audited)",
    ),
]


def parse_override_options(values: list[str] | None) -> dict[str, str]:
    """``GATE=REASON`` options as gate -> reason; a malformed one is a usage error."""
    overrides: dict[str, str] = {}
    for value in values or []:
        gate, sep, reason = value.partition("=")
        if not sep or not gate.strip() or not reason.strip():
            raise InvalidInputError(f"--override {value[:60]!r}: write it as GATE=REASON")
        overrides[gate.strip()] = reason
    return parse_overrides(overrides)


InputT = TypeVar("InputT", bound=ChangeInput)


def read_input(path: Path, model: type[InputT]) -> InputT:
    """Read a change body from a JSON file, with errors that name the file and the field."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInputError(f"{path}: does not exist") from None
    if too_deep(text.encode("utf-8"), MAX_JSON_DEPTH):
        raise InvalidInputError(f"{path}: nests deeper than {MAX_JSON_DEPTH} levels")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(
            f"{path}: is not valid JSON: {exc.msg} at line {exc.lineno}",
            details=[FieldProblem("(file)", exc.msg)],
        ) from None
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = problems_from_pydantic(exc.errors())
        raise InvalidInputError(f"{path}: the change does not validate", details=problems) from None


def _print_change(change: Change) -> None:
    meta = change.change_metadata
    table = Table(show_header=False, box=None)
    table.add_row("id", change.change_id)
    table.add_row("title", meta.title)
    table.add_row("status", change.status.value)
    table.add_row("version", str(change.version))
    table.add_row("customers", ", ".join(meta.customer_codes) or "-")
    if meta.schedule is not None:
        s = meta.schedule
        table.add_row("window", f"{s.shown('start')} → {s.shown('end')} {s.timezone}")
    table.add_row("modified", f"{change.modified_at:%Y-%m-%d %H:%M}Z by {change.modified_by}")
    console.print(table)


def _print_report(report: DistributionReport | None) -> None:
    if report is None or not report.results:
        console.print("no customer is notified for this action")
        return
    table = folding_table(whole("customer"), "event", "trigger", "detail")
    for result in report.results:
        colour = "red" if result.outcome is TriggerOutcome.FAILED else "green"
        table.add_row(
            result.customer_code,
            result.event.value,
            f"[{colour}]{result.outcome.value}[/{colour}]",
            result.detail,
        )
    console.print(table)
    if not report.complete:
        console.print(
            "[red]some triggers were not written[/red]; run `changecast change retry "
            f"{report.change_id}` to write the missing ones"
        )


def finish_action(result: ActionResult, output: OutputFormat) -> None:
    """Print (or emit as JSON) an action's result; exit 1 while a trigger is missing."""
    if output is OutputFormat.JSON:
        emit_json(
            {
                "change": result.change,
                "distribution": result.distribution,
                "complete": result.distribution.complete if result.distribution else True,
                "warnings": result.warnings,
            }
        )
    else:
        _print_change(result.change)
        _print_report(result.distribution)
    warn(result.warnings)
    if result.distribution is not None and not result.distribution.complete:
        raise typer.Exit(1)


def warn(warnings: list[str]) -> None:
    """Each warning as a line on stderr (stdout stays the result, JSON or not)."""
    for text in warnings:
        err_console.print(f"[yellow]warning[/yellow]: {escape(text)}", highlight=False)


@app.command("new")
def new(
    ctx: typer.Context,
    from_file: Annotated[Path, typer.Option("--from-file", help="JSON with changeMetadata…")],
    output: OutputOpt = OutputFormat.TEXT,
) -> None:
    """Save a new draft from a JSON file (drafts never send mail)."""
    state = state_of(ctx)
    data = read_input(from_file, ChangeInput)
    runtime = state.runtime()
    change = drafts.create_draft(deps=runtime.changes, actor=state.actor(), data=data)
    if output is OutputFormat.JSON:
        emit_json(change)
    else:
        _print_change(change)
        console.print(f"draft saved; submit it with `changecast change submit {change.change_id}`")
    over = window_over(change, runtime.clock.now())
    warn([over] if over else [])


@app.command("edit")
def edit(
    ctx: typer.Context,
    change_id: IdArg,
    from_file: Annotated[Path, typer.Option("--from-file", help="JSON with version + fields")],
    output: OutputOpt = OutputFormat.TEXT,
) -> None:
    """Edit a submitted or approved change: archives version n+1 and asks for approval again."""
    state = state_of(ctx)
    data = read_input(from_file, ChangeEdit)
    runtime = state.runtime()
    result = pipeline.perform(
        deps=runtime.changes,
        actor=state.actor(),
        change_id=resolve_change_id(runtime, change_id),
        request=ActionRequest(action=Action.EDIT, edit=data),
    )
    finish_action(result, output)


@app.command("submit")
def submit(
    ctx: typer.Context,
    change_id: IdArg,
    override: OverrideOpt = None,
    output: OutputOpt = OutputFormat.TEXT,
) -> None:
    """Submit a draft for approval: archive version 1, then one trigger per customer."""
    state = state_of(ctx)
    runtime = state.runtime()
    request = ActionRequest(action=Action.SUBMIT, overrides=parse_override_options(override))
    result = pipeline.perform(
        deps=runtime.changes,
        actor=state.actor(),
        change_id=resolve_change_id(runtime, change_id),
        request=request,
    )
    finish_action(result, output)


def _status_command(action: Action, help_text: str) -> None:
    def command(
        ctx: typer.Context,
        change_id: IdArg,
        comment: CommentOpt = None,
        override: OverrideOpt = None,
        output: OutputOpt = OutputFormat.TEXT,
    ) -> None:
        state = state_of(ctx)
        runtime = state.runtime()
        overrides = parse_override_options(override)
        if overrides and action not in GATED_ACTIONS:
            raise InvalidInputError(f"--override applies to submit and approve, not {action}")
        result = pipeline.perform(
            deps=runtime.changes,
            actor=state.actor(),
            change_id=resolve_change_id(runtime, change_id),
            request=ActionRequest(action=action, comment=comment, overrides=overrides),
        )
        finish_action(result, output)

    command.__doc__ = help_text
    app.command(action.value)(command)


_status_command(Action.APPROVE, "Approve a submitted change (sends the announcement and invite).")
_status_command(Action.REJECT, "Reject a submitted change (no mail).")
_status_command(Action.COMPLETE, "Mark an approved change completed.")
_status_command(Action.CANCEL, "Cancel a submitted or approved change.")


@app.command("retry")
def retry(ctx: typer.Context, change_id: IdArg, output: OutputOpt = OutputFormat.TEXT) -> None:
    """Write the latest action's missing triggers again (those present are left alone)."""
    state = state_of(ctx)
    runtime = state.runtime()
    result = pipeline.perform(
        deps=runtime.changes,
        actor=state.actor(),
        change_id=resolve_change_id(runtime, change_id),
        request=ActionRequest(action=RETRY),
    )
    report = result.distribution
    if report is None:  # a retry always reports its triggers
        raise InvalidInputError(f"change {change_id} has nothing to retry")
    if output is OutputFormat.JSON:
        emit_json(report)
    else:
        _print_report(report)
    if not report.complete:
        raise typer.Exit(1)


@app.command("show")
def show(
    ctx: typer.Context,
    change_id: IdArg,
    version: Annotated[int | None, typer.Option("--version", min=1)] = None,
    output: OutputOpt = OutputFormat.TEXT,
) -> None:
    """Show the latest version of a change, or one archived version."""
    state = state_of(ctx)
    runtime = state.runtime()
    cid = resolve_change_id(runtime, change_id)
    if version is None:
        change = service.get(deps=runtime.changes, actor=state.actor(), change_id=cid)
    else:
        change = service.get_version(
            deps=runtime.changes, actor=state.actor(), change_id=cid, version=version
        )
    if output is OutputFormat.JSON:
        emit_json(change)
    else:
        _print_change(change)


def _print_page(page: ChangePage) -> None:
    wide = console.width >= WIDE
    columns: list[str | Column] = [whole("id", width=36), "status", "v", "title", "customers"]
    table = folding_table(*columns, *([whole("modified")] if wide else []), **list_style(wide))
    for item in page.items:
        modified = [f"{item.modified_at:%Y-%m-%d %H:%M}"] if wide else []
        table.add_row(
            item.change_id,
            item.status.value,
            str(item.version),
            item.title,
            ", ".join(item.customer_codes),
            *modified,
        )
    console.print(table)
    console.print(f"{page.total_label} change(s); page {page.page}")


@app.command("list")
def list_changes(
    ctx: typer.Context,
    status: Annotated[ChangeStatus | None, typer.Option("--status")] = None,
    customer: Annotated[str | None, typer.Option("--customer")] = None,
    page: Annotated[int, typer.Option("--page", min=1)] = 1,
    output: OutputOpt = OutputFormat.TEXT,
) -> None:
    """List changes, newest first."""
    _query(ctx, ChangeQuery(status=status, customer=customer, page=page), output)


@app.command("search")
def search(
    ctx: typer.Context,
    text: Annotated[str, typer.Argument(help="words to look for")],
    status: Annotated[ChangeStatus | None, typer.Option("--status")] = None,
    customer: Annotated[str | None, typer.Option("--customer")] = None,
    page: Annotated[int, typer.Option("--page", min=1)] = 1,
    output: OutputOpt = OutputFormat.TEXT,
) -> None:
    """Full-text search over titles, plans, tickets and customers."""
    _query(ctx, ChangeQuery(text=text, status=status, customer=customer, page=page), output)


def _query(ctx: typer.Context, query: ChangeQuery, output: OutputFormat) -> None:
    state = state_of(ctx)
    runtime = state.runtime()
    result = service.find(deps=runtime.changes, actor=state.actor(), query=query)
    if output is OutputFormat.JSON:
        emit_json(result)
    else:
        _print_page(result)


@app.command("history")
def history(ctx: typer.Context, change_id: IdArg, output: OutputOpt = OutputFormat.TEXT) -> None:
    """Every event of a change: who did what, when, to which version."""
    state = state_of(ctx)
    runtime = state.runtime()
    change = service.get(
        deps=runtime.changes, actor=state.actor(), change_id=resolve_change_id(runtime, change_id)
    )
    if output is OutputFormat.JSON:
        emit_json([entry.model_dump(mode="json", by_alias=True) for entry in change.history])
        return
    console.print(history_table(change.history, wide=console.width >= WIDE))


def history_table(entries: Sequence[HistoryEntry], *, wide: bool) -> Table:
    """Every event; on a narrow terminal the status column goes (the action says it)."""
    status = ["status"] if wide else []
    columns = ("at (UTC)", "action", *status, "version" if wide else "v", whole("by"), "comment")
    table = folding_table(*columns, **list_style(wide))
    for entry in entries:
        table.add_row(
            f"{entry.at:%Y-%m-%d %H:%M:%S}",
            entry.action.value,
            *([entry.status.value] if wide else []),
            str(entry.version),
            entry.by,
            entry.comment or "",
        )
    return table

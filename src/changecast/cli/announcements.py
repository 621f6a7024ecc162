"""``changecast announcement …``: announcements (CIC, FinOps, InnerSource, General) from the CLI.

An announcement is a change document of kind ``announcement``: the same pipeline, four eyes,
versions, audit and index as ``changecast change``; only its fields and its topics differ.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.table import Table

from changecast.actions import drafts, pipeline, service
from changecast.actions.pipeline import ActionRequest
from changecast.changes.models import (
    Action,
    AnnouncementKind,
    Change,
    ChangeInput,
    ChangeQuery,
    ChangeStatus,
    NoticeKind,
)
from changecast.cli.change_ids import resolve_change_id
from changecast.cli.changes import finish_action, parse_override_options, read_input
from changecast.cli.state import OutputFormat, OutputOpt, console, emit_json, state_of
from changecast.cli.tables import WIDE, folding_table, list_style, whole
from changecast.errors import InvalidInputError, problems_from_pydantic
from changecast.ids import ChangeId

app = typer.Typer(help="Create, submit, approve and follow announcements.", no_args_is_help=True)

IdArg = Annotated[str, typer.Argument(help="the announcement id (a UUID)")]


class NotAnAnnouncementError(InvalidInputError):
    """The id names a change: ``changecast change …`` acts on it."""


def _announcement_input(
    *,
    title: str,
    kind: AnnouncementKind,
    customers: list[str],
    summary: str,
    body: str,
    links: list[str],
    event_start: str | None,
    event_end: str | None,
    timezone: str,
) -> ChangeInput:
    metadata: dict[str, object] = {"title": title, "customerCodes": customers}
    if (event_start is None) != (event_end is None):
        raise InvalidInputError("--event-start and --event-end go together")
    if event_start is not None:
        metadata["schedule"] = {
            "implementationStart": event_start,
            "implementationEnd": event_end,
            "timezone": timezone,
        }
    parsed_links = []
    for link in links:
        label, sep, url = link.partition("=")
        if not sep or not label.strip() or not url.strip():
            raise InvalidInputError(f"--link {link[:60]!r}: write it as TITLE=URL")
        parsed_links.append({"title": label.strip(), "url": url.strip()})
    raw = {
        "kind": NoticeKind.ANNOUNCEMENT.value,
        "changeMetadata": metadata,
        "announcement": {
            "announcementKind": kind.value,
            "summary": summary,
            "body": body,
            "links": parsed_links,
        },
    }
    try:
        return ChangeInput.model_validate(raw)
    except ValidationError as exc:
        problems = problems_from_pydantic(exc.errors())
        text = "; ".join(f"{p.field}: {p.problem}" for p in problems)
        raise InvalidInputError(f"the announcement does not validate: {text}") from None


def _print_announcement(change: Change) -> None:
    notice = change.announcement
    table = Table(show_header=False, box=None)
    table.add_row("id", change.change_id)
    table.add_row("kind", notice.label if notice else change.kind.value)
    table.add_row("title", change.title)
    table.add_row("status", change.status.value)
    table.add_row("version", str(change.version))
    table.add_row("customers", ", ".join(change.customer_codes) or "-")
    if notice is not None and notice.summary:
        table.add_row("summary", notice.summary)
    schedule = change.change_metadata.schedule
    if schedule is not None:
        table.add_row(
            "event",
            f"{schedule.implementation_start:%Y-%m-%d %H:%M} → "
            f"{schedule.implementation_end:%Y-%m-%d %H:%M} {schedule.timezone}",
        )
    table.add_row("modified", f"{change.modified_at:%Y-%m-%d %H:%M}Z by {change.modified_by}")
    console.print(table)
    if notice is not None and notice.body:
        console.print(notice.body, markup=False, highlight=False)


@app.command("new")
def new(
    ctx: typer.Context,
    title: Annotated[str | None, typer.Option("--title", help="one line")] = None,
    kind: Annotated[
        AnnouncementKind | None, typer.Option("--kind", help="cic, finops, inner or general")
    ] = None,
    customer: Annotated[
        list[str] | None, typer.Option("--customer", "-c", help="a customer code (repeatable)")
    ] = None,
    summary: Annotated[str, typer.Option("--summary", help="a short summary")] = "",
    body_file: Annotated[
        Path | None, typer.Option("--body-file", help="the body, a Markdown file")
    ] = None,
    link: Annotated[
        list[str] | None,
        typer.Option("--link", metavar="TITLE=URL", help="a link under the body (repeatable)"),
    ] = None,
    event_start: Annotated[
        str | None, typer.Option("--event-start", help="local time, 2030-04-02T15:00")
    ] = None,
    event_end: Annotated[str | None, typer.Option("--event-end", help="local time")] = None,
    timezone: Annotated[str, typer.Option("--timezone", help="IANA name")] = "UTC",
    from_file: Annotated[
        Path | None,
        typer.Option("--from-file", help="a JSON document instead of the options"),
    ] = None,
    output: OutputOpt = OutputFormat.TEXT,
) -> None:
    """Save a new announcement draft (drafts never send mail)."""
    state = state_of(ctx)
    if from_file is not None:
        data = read_input(from_file, ChangeInput)
        if data.kind is not NoticeKind.ANNOUNCEMENT:
            raise InvalidInputError(f'{from_file}: is a change; set "kind": "announcement"')
    else:
        if title is None or kind is None:
            raise InvalidInputError("give --title and --kind (or --from-file)")
        body = ""
        if body_file is not None:
            try:
                body = body_file.read_text(encoding="utf-8")
            except FileNotFoundError:
                raise InvalidInputError(f"{body_file}: does not exist") from None
        data = _announcement_input(
            title=title,
            kind=kind,
            customers=customer or [],
            summary=summary,
            body=body,
            links=link or [],
            event_start=event_start,
            event_end=event_end,
            timezone=timezone,
        )
    runtime = state.runtime()
    change = drafts.create_draft(deps=runtime.changes, actor=state.actor(), data=data)
    if output is OutputFormat.JSON:
        emit_json(change)
    else:
        _print_announcement(change)
        console.print(
            f"draft saved; submit it with `changecast announcement submit {change.change_id}`"
        )


def _announcement_id(ctx: typer.Context, change_id: str) -> ChangeId:
    """The id, once it is known to name an announcement the actor may see."""
    state = state_of(ctx)
    cid = resolve_change_id(state.runtime(), change_id)
    found = service.get(deps=state.runtime().changes, actor=state.actor(), change_id=cid)
    if not found.is_announcement:
        raise NotAnAnnouncementError(
            f"{cid} is a change, not an announcement: use `changecast change …`"
        )
    return cid


OverrideOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--override",
        metavar="GATE=REASON",
        help="act past a gate's blocking findings, with a reason (repeatable; audited)",
    ),
]
CommentOpt = Annotated[str | None, typer.Option("--comment", help="a note for the history")]


def _act(
    ctx: typer.Context,
    change_id: str,
    action: Action,
    *,
    comment: str | None,
    override: list[str] | None,
    output: OutputFormat,
) -> None:
    state = state_of(ctx)
    cid = _announcement_id(ctx, change_id)
    request = ActionRequest(
        action=action, comment=comment, overrides=parse_override_options(override)
    )
    result = pipeline.perform(
        deps=state.runtime().changes, actor=state.actor(), change_id=cid, request=request
    )
    finish_action(result, output)


@app.command("submit")
def submit(
    ctx: typer.Context,
    change_id: IdArg,
    override: OverrideOpt = None,
    output: OutputOpt = OutputFormat.TEXT,
) -> None:
    """Submit a draft for approval (to the announce-approval topic)."""
    _act(ctx, change_id, Action.SUBMIT, comment=None, override=override, output=output)


@app.command("approve")
def approve(
    ctx: typer.Context,
    change_id: IdArg,
    comment: CommentOpt = None,
    override: OverrideOpt = None,
    output: OutputOpt = OutputFormat.TEXT,
) -> None:
    """Approve (publish) a submitted announcement: it goes to its kind's topic."""
    _act(ctx, change_id, Action.APPROVE, comment=comment, override=override, output=output)


@app.command("withdraw")
def withdraw(
    ctx: typer.Context,
    change_id: IdArg,
    comment: CommentOpt = None,
    output: OutputOpt = OutputFormat.TEXT,
) -> None:
    """Withdraw a submitted or published announcement."""
    _act(ctx, change_id, Action.CANCEL, comment=comment, override=None, output=output)


@app.command("show")
def show(
    ctx: typer.Context,
    change_id: IdArg,
    version: Annotated[int | None, typer.Option("--version", min=1)] = None,
    output: OutputOpt = OutputFormat.TEXT,
) -> None:
    """Show the latest version of an announcement, or one archived version."""
    state = state_of(ctx)
    cid = _announcement_id(ctx, change_id)
    deps = state.runtime().changes
    if version is None:
        change = service.get(deps=deps, actor=state.actor(), change_id=cid)
    else:
        change = service.get_version(deps=deps, actor=state.actor(), change_id=cid, version=version)
    if output is OutputFormat.JSON:
        emit_json(change)
    else:
        _print_announcement(change)


@app.command("list")
def list_announcements(
    ctx: typer.Context,
    text: Annotated[str | None, typer.Option("--search", help="words to look for")] = None,
    status: Annotated[ChangeStatus | None, typer.Option("--status")] = None,
    customer: Annotated[str | None, typer.Option("--customer")] = None,
    page: Annotated[int, typer.Option("--page", min=1)] = 1,
    output: OutputOpt = OutputFormat.TEXT,
) -> None:
    """List announcements, newest first (``--search``: full text)."""
    state = state_of(ctx)
    query = ChangeQuery(
        text=text, status=status, customer=customer, page=page, kind=NoticeKind.ANNOUNCEMENT
    )
    result = service.find(deps=state.runtime().changes, actor=state.actor(), query=query)
    if output is OutputFormat.JSON:
        emit_json(result)
        return
    wide = console.width >= WIDE
    columns = (whole("id", width=36), "kind", "status", "v", "title", "customers")
    table = folding_table(*columns, **list_style(wide))
    for item in result.items:
        table.add_row(
            item.change_id,
            item.announcement_kind.value if item.announcement_kind else "-",
            item.status.value,
            str(item.version),
            item.title,
            ", ".join(item.customer_codes),
        )
    console.print(table)
    console.print(f"{result.total} announcement(s); page {result.page}")

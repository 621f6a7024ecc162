"""``changecast users …``: each person's current role, which their API tokens act with.

A sign-in records the role it gave; these commands change or withdraw it between sign-ins (for
example after removing someone from the IdP group), and the person's tokens follow at once.
"""

from __future__ import annotations

from typing import Annotated

import typer

from changecast.access.models import Actor, Role
from changecast.access.users import KnownUser, disable_user, record_grant
from changecast.cli.state import OutputFormat, OutputOpt, console, emit_json, state_of
from changecast.cli.tables import folding_table, whole
from changecast.errors import InvalidInputError, NotFoundError
from changecast.ids import parse_customer_code

app = typer.Typer(help="Known users: their current role and customers.", no_args_is_help=True)

EmailArg = Annotated[str, typer.Argument(help="the person's email address")]


def _emit(users: list[KnownUser], output: OutputFormat) -> None:
    if output is OutputFormat.JSON:
        emit_json([user.model_dump(mode="json") for user in users])
        return
    table = folding_table(whole("email"), "role", "customers", "updated", "by", "removed")
    for user in users:
        removed = user.disabled_at.isoformat() if user.disabled_at else ""
        table.add_row(
            user.email,
            user.role.value,
            ", ".join(user.customers),
            user.updated_at.isoformat(),
            user.updated_by,
            removed,
        )
    console.print(table)


@app.command("list")
def list_users(ctx: typer.Context, output: OutputOpt = OutputFormat.TEXT) -> None:
    """Everyone who signed in or was granted a role, with their current grant."""
    _emit(state_of(ctx).runtime().users.all(), output)


@app.command("set-role")
def set_role(
    ctx: typer.Context,
    email: EmailArg,
    role: Annotated[Role, typer.Option("--role", help="the new role", case_sensitive=False)],
    customers: Annotated[
        list[str] | None, typer.Option("--customer", help="a CustomerManager's customer (repeat)")
    ] = None,
    output: OutputOpt = OutputFormat.TEXT,
) -> None:
    """Change someone's current role (their tokens follow at once; a sign-in sets it again)."""
    state = state_of(ctx)
    runtime = state.runtime()
    codes = frozenset(parse_customer_code(code) for code in customers or [])
    if codes and role is not Role.CUSTOMER_MANAGER:
        raise InvalidInputError("--customer is only for --role CustomerManager")
    known = runtime.users.get(email)
    if known is None:
        raise NotFoundError(f"no known user {email[:200]}: they have never signed in")
    actor = Actor(email=known.email, display_name=known.display_name, role=role, customers=codes)
    user = record_grant(runtime.users, actor, at=runtime.clock.now(), by=state.actor().email)
    _emit([user], output)


@app.command("remove")
def remove(ctx: typer.Context, email: EmailArg, output: OutputOpt = OutputFormat.TEXT) -> None:
    """Withdraw someone's access: their API tokens answer 401 until they sign in again."""
    state = state_of(ctx)
    runtime = state.runtime()
    user = disable_user(runtime.users, email, at=runtime.clock.now(), by=state.actor().email)
    _emit([user], output)

"""``changecast calendar …``: each customer's secret calendar feed (``/calendar/{code}.ics``)."""

from __future__ import annotations

import typer

from changecast.actions.feeds import rotate_feed_token
from changecast.cli.fanout import CustomerReport, CustomerTask, Fanout, fanout_command
from changecast.cli.state import state_of
from changecast.customers.models import CustomerMapping
from changecast.delivery.feed_tokens import FeedTokens, webcal_url

app = typer.Typer(help="Customers' calendar feeds.", no_args_is_help=True)


@app.command("rotate-token")
@fanout_command()
def rotate_token(fan: Fanout) -> CustomerTask:
    """Give the customer's feed a new secret token; the old feed URL answers 404 at once."""
    state = state_of(fan.ctx)
    runtime = state.runtime()
    actor = state.actor()
    tokens = FeedTokens(runtime.store, runtime.clock)
    portal = runtime.config.email_config.portal_base_url

    def task(mapping: CustomerMapping, report: CustomerReport) -> None:
        code = mapping.customer_code
        token = rotate_feed_token(
            tokens=tokens, actor=actor, customer_code=code, clock=runtime.clock, audit=runtime.audit
        )
        url = webcal_url(portal, code, token)
        report.print(url)
        report.detail = "rotated"
        report.data = {"customer": code, "feedUrl": url}

    return task

"""Actions that write triggers, streamed: each customer's result is sent as its trigger is written.

The action runs in a thread; the page is one HTML document whose list grows as results arrive.
"""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import structlog
from fastapi import Request
from fastapi.responses import HTMLResponse, StreamingResponse
from markupsafe import Markup

from changecast.access.models import Actor
from changecast.actions.context import ActionResult
from changecast.changes.models import Change
from changecast.distribution.models import CustomerResult, DistributionReport
from changecast.distribution.service import ResultCallback
from changecast.errors import ChangecastError, NotFoundError, UpstreamError
from changecast.web.pages.templating import base_context, render_fragment

log = structlog.get_logger()

ROWS = Markup("<!--results-->")
FIRST_RESULT_TIMEOUT = 120.0
Run = Callable[[ResultCallback], ActionResult | DistributionReport]


@dataclass(frozen=True)
class Finished:
    """The end of an action: what it returned, or the error it raised."""

    result: ActionResult | DistributionReport | None = None
    error: Exception | None = None


def _start(run: Run) -> queue.Queue[CustomerResult | Finished]:
    events: queue.Queue[CustomerResult | Finished] = queue.Queue()

    def work() -> None:
        try:
            finished = Finished(result=run(events.put))
        except Exception as exc:  # the thread's top level: logged, then shown
            if not isinstance(exc, ChangecastError):
                log.exception("page_action_failed")
            finished = Finished(error=exc)
        events.put(finished)

    context = contextvars.copy_context()  # log bindings and the request's audit collector
    threading.Thread(target=context.run, args=(work,), name="page-action", daemon=True).start()
    return events


def stream_action(
    request: Request, actor: Actor, *, change: Change, heading: str, run: Run, result_url: str
) -> StreamingResponse | HTMLResponse:
    """Run ``run`` and stream its results; an error before the first result is raised here.

    Once complete, the page replaces its own history entry with ``result_url`` (app.js), a GET
    showing the outcome from state: reloading it repeats nothing (post/redirect/get, streamed).

    Where the host buffers whole answers (Lambda behind API Gateway or an ALB), the same page is
    sent complete, once the last trigger is written (``CHANGECAST_WEB__STREAMING=false``).
    """
    events = _start(run)
    try:
        first = events.get(timeout=FIRST_RESULT_TIMEOUT)
    except queue.Empty:
        raise UpstreamError("the action did not answer in time", retryable=True) from None
    if isinstance(first, Finished) and first.error is not None:
        raise first.error
    context = {
        **base_context(request, actor),
        "change": change,
        "heading": heading,
        "results_marker": ROWS,
        "names": _names(request),
        "result_url": result_url,
    }
    chunks = _chunks(request, context, first, events)
    if not request.app.state.runtime.settings.web.streaming:
        return HTMLResponse("".join(chunks))
    return StreamingResponse(chunks, media_type="text/html; charset=utf-8")


def _names(request: Request) -> dict[str, str]:
    directory = request.app.state.runtime.directory
    names = {}
    for code in directory.codes:
        try:
            names[code] = directory.get(code).customer_name
        except NotFoundError:
            names[code] = code
    return names


def _chunks(
    request: Request,
    context: dict[str, object],
    first: CustomerResult | Finished,
    events: queue.Queue[CustomerResult | Finished],
) -> Iterator[str]:
    page = "pages/distribution.html"
    yield render_fragment(request, page, context).split(str(ROWS))[0]
    item: CustomerResult | Finished = first
    results: list[CustomerResult] = []
    while isinstance(item, CustomerResult):
        results.append(item)
        yield render_fragment(request, "partials/_result_row.html", {**context, "result": item})
        item = events.get()
    final = {**context, "results": results, "finished": item, "summary": _summary(item)}
    yield render_fragment(request, page, final).split(str(ROWS))[1]


def _summary(finished: Finished) -> dict[str, object]:
    if finished.error is not None:
        return {"ok": False, "message": str(finished.error), "failed": []}
    result = finished.result
    report = result.distribution if isinstance(result, ActionResult) else result
    if report is None or not report.results:
        return {"ok": True, "message": "No emails are due for this action.", "failed": []}
    failed = report.failed_customers
    if failed:
        message = "Emails could not be queued for some customers; nothing was sent to them yet."
        return {"ok": False, "message": message, "failed": failed}
    count = len(report.results)
    customers = "the customer" if count == 1 else f"all {count} customers"
    return {"ok": True, "message": f"Emails queued for {customers}.", "failed": []}

"""Post/redirect/get for the actions: where an action's reader lands, and a form posted again.

An action's page (streamed as it runs) replaces its own history entry with its result URL, a
GET that reads the outcome from the change: reloading it repeats nothing. A form posted again
anyway (no script, or a reload mid-stream) is answered with a redirect to that result.
"""

from __future__ import annotations

from starlette.datastructures import FormData

from changecast.access.models import Actor
from changecast.actions.pipeline import RETRY, Retry
from changecast.changes.models import Action, Change, HistoryEntry


def done_entry(change: Change, actor: Actor, done: str) -> HistoryEntry | None:
    """``?done=approve``: the viewer's newest entry of that action, read from the change.

    An action's page sends its reader there; reloading it repeats nothing.
    """
    entries = [e for e in change.history if e.action.value == done and e.by == actor.email]
    return entries[-1] if entries else None


def result_url(change_id: str, action: Action | Retry) -> str:
    """The page that shows an action's outcome from state (a GET: reloading it is harmless)."""
    if isinstance(action, Action):
        return f"/changes/{change_id}?done={action.value}"
    return f"/changes/{change_id}#deliveries"  # a retry: the grid shows it


def repeated(change: Change, actor: Actor, action: Action | Retry, form: FormData) -> bool:
    """Whether the form was posted again (a reload of its result page).

    True when this actor already did this action on the version the form showed, or a later
    one: its result page is shown instead.
    """
    raw = str(form.get("version") or "")
    if action is RETRY or not raw.isdigit() or len(raw) > 8:
        return False
    seen = int(raw)
    if action is Action.EDIT:  # an edit writes the version after the one it showed
        seen += 1
    return any(
        e.action is action and e.by == actor.email and e.version >= seen for e in change.history
    )

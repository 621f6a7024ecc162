"""Rich renderings of contact lists, topic plans and contact plans, for one customer's block."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.table import Table

from changecast.cli.tables import folding_table, whole
from changecast.contacts.models import Contact, ContactAction, ContactListInfo, ContactPlan
from changecast.contacts.topics import TopicAction, TopicPlan, is_subscribed

ACTION_COLOURS = {
    "add": "green",
    "update": "yellow",
    "remove": "red",
    "unchanged": "dim",
    "skip": "magenta",
}
MAX_ROWS = 200


def _action(value: str) -> str:
    colour = ACTION_COLOURS.get(value, "white")
    return f"[{colour}]{value}[/{colour}]"


def topics_table(info: ContactListInfo, contacts: Sequence[Contact] | None = None) -> Table:
    table = folding_table(
        whole("topic"), "display name", "default", "description", title=f"list {info.name}"
    )
    if contacts is not None:
        table.add_column("subscribed")
    for topic in info.topics:
        row = [topic.name, topic.display_name, topic.default_status, topic.description]
        if contacts is not None:
            count = sum(1 for c in contacts if is_subscribed(c, topic.name, topic.default_status))
            row.append(str(count))
        table.add_row(*row)
    return table


def topic_plan_table(plan: TopicPlan) -> Table:
    title = f"list {plan.list_name}" + (" (to be created)" if plan.create_list else "")
    table = folding_table("action", whole("topic"), "changes", title=title)
    for change in plan.changes:
        if change.action is TopicAction.UPDATE and change.before and change.after:
            before, after = change.before, change.after
            detail = "; ".join(
                f"{f}: {getattr(before, f)!r} → {getattr(after, f)!r}" for f in change.fields
            )
        elif change.action is TopicAction.ADD and change.after:
            detail = f"{change.after.display_name} ({change.after.default_status})"
        else:
            detail = ""
        table.add_row(_action(change.action.value), change.name, detail)
    return table


def topic_plan_summary(plan: TopicPlan) -> str:
    counts = ", ".join(
        f"{plan.count(a)} {a.value}"
        for a in TopicAction
        if a is not TopicAction.UNCHANGED and plan.count(a)
    )
    if not plan.has_changes:
        return "in sync"
    return "; ".join(part for part in ("create list" if plan.create_list else "", counts) if part)


def _preferences(contact: Contact) -> str:
    text = ", ".join(f"{p.topic}={p.status}" for p in contact.preferences) or "(defaults)"
    return text + (" [red]UNSUBSCRIBED ALL[/red]" if contact.unsubscribe_all else "")


def contacts_table(contacts: Sequence[Contact], title: str) -> Table:
    table = folding_table(whole("email"), "preferences", title=title)
    for contact in contacts[:MAX_ROWS]:
        table.add_row(contact.email, _preferences(contact))
    if len(contacts) > MAX_ROWS:
        table.caption = f"first {MAX_ROWS} of {len(contacts)}; use --output json for all"
    return table


def contact_plan_table(plan: ContactPlan, *, show_unchanged: bool = True) -> Table:
    table = folding_table(
        "action", whole("email"), "preferences after", "detail", title=f"list {plan.list_name}"
    )
    shown = 0
    for change in plan.changes:
        if change.action is ContactAction.UNCHANGED and not show_unchanged:
            continue
        shown += 1
        if shown > MAX_ROWS:
            continue
        after = _preferences(change.after) if change.after else ""
        table.add_row(_action(change.action.value), change.email, after, change.detail)
    if shown > MAX_ROWS:
        table.caption = f"first {MAX_ROWS} of {shown}; use --output json for all"
    table.caption = (table.caption + "; " if table.caption else "") + plan.summary()
    return table


def contact_plan_json(plan: ContactPlan) -> dict[str, Any]:
    return {
        "contact_list": plan.list_name,
        "summary": {a.value: plan.count(a) for a in ContactAction},
        "changes": [c.model_dump(mode="json", exclude_none=True) for c in plan.changes],
    }

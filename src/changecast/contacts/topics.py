"""Pure topic logic: who is subscribed to a topic, and the diff between SESConfig.json and a list.

A plan is data. Applying it changes only the list's topics, never a contact's preferences.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from changecast.contacts.models import Contact, ContactListInfo, ListTopic
from changecast.customers.models import SESConfig, SubscriptionStatus, TopicSpec

COMPARED_FIELDS = ("display_name", "description", "default_status")


def is_subscribed(contact: Contact, topic: str, default_status: SubscriptionStatus) -> bool:
    """SES semantics: UnsubscribeAll excludes; an explicit preference wins; else the default."""
    if contact.unsubscribe_all:
        return False
    explicit = contact.preference_for(topic)
    return (explicit or default_status) == "OPT_IN"


def subscribers(
    contacts: Sequence[Contact], topic: str, default_status: SubscriptionStatus
) -> list[Contact]:
    """The contacts of ``contacts`` that receive mail sent to ``topic``."""
    return [c for c in contacts if is_subscribed(c, topic, default_status)]


def list_topic(spec: TopicSpec) -> ListTopic:
    """A topic of SESConfig.json as it should appear on a contact list."""
    return ListTopic(
        name=spec.topic_name,
        display_name=spec.display_name,
        description=spec.description,
        default_status=spec.default_subscription_status,
    )


def desired_topics(config: SESConfig) -> tuple[ListTopic, ...]:
    """Every topic SESConfig.json asks for, prefix groups expanded."""
    return tuple(list_topic(spec) for spec in config.expanded_topics())


class TopicAction(StrEnum):
    ADD = "add"
    UPDATE = "update"
    REMOVE = "remove"
    UNCHANGED = "unchanged"


class TopicChange(BaseModel):
    """One topic's line in a plan; ``fields`` names what an update changes."""

    model_config = ConfigDict(frozen=True)

    action: TopicAction
    name: str
    before: ListTopic | None = None
    after: ListTopic | None = None
    fields: tuple[str, ...] = ()


class TopicPlan(BaseModel):
    """The diff for one contact list. ``create_list`` when the list does not exist yet."""

    model_config = ConfigDict(frozen=True)

    list_name: str
    create_list: bool = False
    changes: tuple[TopicChange, ...] = ()

    @property
    def pending(self) -> tuple[TopicChange, ...]:
        return tuple(c for c in self.changes if c.action is not TopicAction.UNCHANGED)

    @property
    def has_changes(self) -> bool:
        return self.create_list or bool(self.pending)

    def count(self, action: TopicAction) -> int:
        return sum(1 for c in self.changes if c.action is action)


def _changed_fields(before: ListTopic, after: ListTopic) -> tuple[str, ...]:
    return tuple(f for f in COMPARED_FIELDS if getattr(before, f) != getattr(after, f))


def plan_topics(
    list_name: str, desired: Sequence[ListTopic], current: ContactListInfo | None
) -> TopicPlan:
    """Compare the wanted topics with the list's; topics only on the list are removed."""
    existing = {t.name: t for t in current.topics} if current is not None else {}
    wanted = {t.name: t for t in desired}
    changes: list[TopicChange] = []
    for topic in desired:
        before = existing.get(topic.name)
        if before is None:
            changes.append(TopicChange(action=TopicAction.ADD, name=topic.name, after=topic))
            continue
        fields = _changed_fields(before, topic)
        action = TopicAction.UPDATE if fields else TopicAction.UNCHANGED
        changes.append(
            TopicChange(action=action, name=topic.name, before=before, after=topic, fields=fields)
        )
    for name, before in existing.items():
        if name not in wanted:
            changes.append(TopicChange(action=TopicAction.REMOVE, name=name, before=before))
    return TopicPlan(list_name=list_name, create_list=current is None, changes=tuple(changes))


def apply_topic_plan(current: Sequence[ListTopic], plan: TopicPlan) -> tuple[ListTopic, ...]:
    """The list's topics after ``plan``: existing order kept, updates in place, adds appended."""
    by_action = {c.name: c for c in plan.changes}
    result: list[ListTopic] = []
    for topic in current:
        change = by_action.get(topic.name)
        if change is None or change.action is TopicAction.UNCHANGED:
            result.append(topic)
        elif change.action is TopicAction.UPDATE and change.after is not None:
            result.append(change.after)
    present = {t.name for t in result}
    for change in plan.changes:
        if change.action is TopicAction.ADD and change.after and change.name not in present:
            result.append(change.after)
    return tuple(result)

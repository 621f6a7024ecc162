"""Runs topic, contact, import and restore plans against one customer's ports.

Every function is keyword-only; plans come from the pure modules and are returned as data.
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog

from changecast.contacts.backup import make_backup, plan_restore
from changecast.contacts.importer import GroupPattern, ImportOptions, plan_import, roles_by_user
from changecast.contacts.models import (
    Contact,
    ContactAction,
    ContactBackup,
    ContactChange,
    ContactListInfo,
    ContactPlan,
    ListTopic,
    TopicPreference,
)
from changecast.contacts.ports import ContactListPort, IdentityDirectoryPort
from changecast.contacts.topics import TopicPlan, apply_topic_plan, plan_topics
from changecast.customers.models import SubscriptionStatus, TopicSpec
from changecast.errors import ConflictError, NotFoundError

log = structlog.get_logger()
DEFAULT_LIST_DESCRIPTION = "Change notifications sent by changecast"


def plan_topic_sync(
    *, ses: ContactListPort, list_name: str, desired: Sequence[ListTopic]
) -> tuple[TopicPlan, ContactListInfo | None]:
    """The diff between the wanted topics and the list as it is now."""
    current = ses.find_contact_list(list_name)
    return plan_topics(list_name, desired, current), current


def apply_topic_sync(
    *, ses: ContactListPort, plan: TopicPlan, current: ContactListInfo | None
) -> TopicPlan:
    """Change the list in place (UpdateContactList), then re-plan to prove nothing is left.

    Contacts are never touched, so every preference survives. Returns the re-plan (empty).
    """
    if plan.create_list or current is None:
        topics = apply_topic_plan((), plan)
        ses.create_contact_list(
            ContactListInfo(
                name=plan.list_name, description=DEFAULT_LIST_DESCRIPTION, topics=topics
            )
        )
    elif plan.pending:
        topics = apply_topic_plan(current.topics, plan)
        ses.update_contact_list(plan.list_name, topics=topics, description=current.description)
    desired = tuple(c.after for c in plan.changes if c.after is not None)
    again, _ = plan_topic_sync(ses=ses, list_name=plan.list_name, desired=desired)
    if again.has_changes:
        raise ConflictError(
            f"contact list {plan.list_name} still differs after apply "
            f"({len(again.pending)} topics); was it changed concurrently?"
        )
    log.debug("topics_applied", contact_list=plan.list_name, changes=len(plan.pending))
    return again


def require_topic(ses: ContactListPort, list_name: str, topic: str) -> ListTopic:
    found = ses.get_contact_list(list_name).topic(topic)
    if found is None:
        raise NotFoundError(f"contact list {list_name} has no topic {topic!r}", topic=topic)
    return found


def plan_add(
    *, ses: ContactListPort, list_name: str, emails: Sequence[str], topics: Sequence[str]
) -> ContactPlan:
    """New contacts opted in to ``topics``; existing ones are reported unchanged."""
    for topic in topics:
        require_topic(ses, list_name, topic)
    changes: list[ContactChange] = []
    for email in emails:
        before = ses.find_contact(list_name, email)
        if before is not None:
            changes.append(
                ContactChange(
                    email=email,
                    action=ContactAction.UNCHANGED,
                    before=before,
                    detail="already on the list",
                )
            )
            continue
        prefs = tuple(TopicPreference(topic=t, status="OPT_IN") for t in topics)
        after = Contact(email=email, preferences=prefs)
        changes.append(ContactChange(email=email, action=ContactAction.ADD, after=after))
    return ContactPlan(list_name=list_name, changes=tuple(changes))


def plan_remove(*, ses: ContactListPort, list_name: str, emails: Sequence[str]) -> ContactPlan:
    changes: list[ContactChange] = []
    for email in emails:
        before = ses.find_contact(list_name, email)
        action = ContactAction.REMOVE if before is not None else ContactAction.SKIP
        detail = "" if before is not None else "not on the list"
        changes.append(ContactChange(email=email, action=action, before=before, detail=detail))
    return ContactPlan(list_name=list_name, changes=tuple(changes))


def plan_subscription(
    *,
    ses: ContactListPort,
    list_name: str,
    emails: Sequence[str],
    topic: str,
    status: SubscriptionStatus,
) -> ContactPlan:
    """Set one topic's explicit preference for each contact; other preferences stay as they are."""
    require_topic(ses, list_name, topic)
    changes: list[ContactChange] = []
    for email in emails:
        before = ses.find_contact(list_name, email)
        if before is None:
            changes.append(
                ContactChange(
                    email=email, action=ContactAction.SKIP, detail="not on the list; add it first"
                )
            )
            continue
        after = before.with_preference(topic, status)
        same = after.preference_map() == before.preference_map()
        action = ContactAction.UNCHANGED if same else ContactAction.UPDATE
        changes.append(ContactChange(email=email, action=action, before=before, after=after))
    return ContactPlan(list_name=list_name, changes=tuple(changes))


def apply_contact_plan(*, ses: ContactListPort, plan: ContactPlan) -> int:
    """Carry out the add, update and remove lines; returns how many calls were made."""
    done = 0
    for change in plan.pending:
        if change.action is ContactAction.ADD and change.after is not None:
            ses.create_contact(plan.list_name, change.after)
        elif change.action is ContactAction.UPDATE and change.after is not None:
            ses.update_contact(plan.list_name, change.after)
        elif change.action is ContactAction.REMOVE:
            ses.delete_contact(plan.list_name, change.email)
        done += 1
    log.debug("contact_plan_applied", contact_list=plan.list_name, changes=done)
    return done


def backup_contacts(*, ses: ContactListPort, customer: str, list_name: str) -> ContactBackup:
    info = ses.get_contact_list(list_name)
    return make_backup(customer, info, ses.list_contacts(list_name))


def plan_restore_from(
    *, ses: ContactListPort, backup: ContactBackup, list_name: str, prune: bool
) -> tuple[ContactPlan, bool]:
    """The restore plan, and whether the list must be created first (from the backup's topics)."""
    info = ses.find_contact_list(list_name)
    current = ses.list_contacts(list_name) if info is not None else []
    return plan_restore(backup, current, list_name=list_name, prune=prune), info is None


def restore_contacts(
    *, ses: ContactListPort, backup: ContactBackup, plan: ContactPlan, create_list: bool
) -> int:
    if create_list:
        ses.create_contact_list(
            ContactListInfo(
                name=plan.list_name, description=DEFAULT_LIST_DESCRIPTION, topics=backup.topics
            )
        )
    return apply_contact_plan(ses=ses, plan=plan)


def plan_identity_import(
    *,
    ses: ContactListPort,
    directory: IdentityDirectoryPort,
    list_name: str,
    topics: Sequence[TopicSpec],
    pattern: GroupPattern,
    options: ImportOptions,
) -> ContactPlan:
    """Read Identity Center (users, matching groups, their members) and the list; plan."""
    users = directory.list_users()
    groups = [g for g in directory.list_groups() if pattern.role_for(g.name) is not None]
    members = {g.group_id: directory.list_member_ids(g.group_id) for g in groups}
    roles = roles_by_user(groups, members, pattern)
    ses.get_contact_list(list_name)
    existing = ses.list_contacts(list_name)
    log.debug("identity_read", users=len(users), groups=len(groups), contacts=len(existing))
    return plan_import(
        list_name=list_name,
        users=users,
        roles=roles,
        topics=topics,
        existing=existing,
        options=options,
    )

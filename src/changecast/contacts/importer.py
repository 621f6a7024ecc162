"""Pure Identity Center import: group names to roles, roles to topics, and the contact plan.

A user gets every OPT_IN topic plus each topic whose OptInRoles hold one of the user's roles.
A preference the contact chose (an explicit OPT_OUT, say) is kept; the import only adds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from changecast.contacts.models import (
    Contact,
    ContactAction,
    ContactChange,
    ContactPlan,
    IdentityGroup,
    IdentityUser,
    TopicPreference,
)
from changecast.customers.models import TopicSpec, is_email
from changecast.errors import InvalidInputError

DEFAULT_GROUP_PATTERN = "ccoe-cloud-{role}"
PLACEHOLDER = "{role}"


class GroupPatternError(InvalidInputError):
    """The group-name pattern does not hold exactly one ``{role}``."""


@dataclass(frozen=True)
class GroupPattern:
    """Matches group names such as ``ccoe-cloud-approver``; the role is what ``{role}`` matched."""

    text: str
    regex: re.Pattern[str]

    @classmethod
    def parse(cls, text: str = DEFAULT_GROUP_PATTERN) -> GroupPattern:
        if text.count(PLACEHOLDER) != 1:
            raise GroupPatternError(
                f"group pattern {text[:80]!r} must contain {PLACEHOLDER} exactly once",
                field="group_pattern",
            )
        before, after = text.split(PLACEHOLDER)
        regex = re.compile(
            f"^{re.escape(before)}(?P<role>[A-Za-z0-9_.+-]+?){re.escape(after)}$", re.IGNORECASE
        )
        return cls(text=text, regex=regex)

    def role_for(self, group_name: str) -> str | None:
        """The role a group grants, lower-cased, or None when the name does not match."""
        found = self.regex.match(group_name.strip())
        return found.group("role").lower() if found else None


def roles_by_user(
    groups: Iterable[IdentityGroup],
    members: Mapping[str, Sequence[str]],
    pattern: GroupPattern,
) -> dict[str, frozenset[str]]:
    """User id to the roles of the matching groups the user belongs to."""
    roles: dict[str, set[str]] = {}
    for group in groups:
        role = pattern.role_for(group.name)
        if role is None:
            continue
        for user_id in members.get(group.group_id, ()):
            roles.setdefault(user_id, set()).add(role)
    return {user: frozenset(found) for user, found in roles.items()}


def entitled_topics(roles: frozenset[str], topics: Sequence[TopicSpec]) -> tuple[str, ...]:
    """The OPT_IN topics, plus those whose OptInRoles hold one of ``roles``; config order."""
    lowered = {r.lower() for r in roles}
    return tuple(
        t.topic_name
        for t in topics
        if t.default_subscription_status == "OPT_IN"
        or lowered.intersection(r.lower() for r in t.opt_in_roles)
    )


def _gated_topics(topics: Sequence[TopicSpec]) -> frozenset[str]:
    """Topics only some roles may receive: OPT_OUT by default and naming OptInRoles."""
    return frozenset(
        t.topic_name
        for t in topics
        if t.opt_in_roles and t.default_subscription_status == "OPT_OUT"
    )


def desired_contact(
    email: str, entitled: Sequence[str], current: Contact | None, revoke: frozenset[str]
) -> Contact:
    """The contact after import: entitled topics opted in where no choice exists yet.

    ``revoke`` names gated topics the user is no longer entitled to; an explicit OPT_IN on
    one of them is dropped so the list default (OPT_OUT) applies again.
    """
    if current is None:
        prefs = tuple(TopicPreference(topic=t, status="OPT_IN") for t in entitled)
        return Contact(email=email, preferences=prefs)
    result = current
    for topic in entitled:
        if result.preference_for(topic) is None:
            result = result.with_preference(topic, "OPT_IN")
    for topic in sorted(revoke):
        if topic not in entitled and result.preference_for(topic) == "OPT_IN":
            result = result.with_preference(topic, None)
    return result


@dataclass(frozen=True)
class ImportOptions:
    remove_missing: bool = False
    only_with_role: bool = False
    revoke: bool = False


def _users_by_email(
    users: Sequence[IdentityUser], roles: Mapping[str, frozenset[str]], options: ImportOptions
) -> tuple[dict[str, tuple[IdentityUser, frozenset[str]]], list[ContactChange]]:
    chosen: dict[str, tuple[IdentityUser, frozenset[str]]] = {}
    skipped: list[ContactChange] = []
    for user in users:
        user_roles = roles.get(user.user_id, frozenset())
        if options.only_with_role and not user_roles:
            continue
        if not user.email or not is_email(user.email):
            detail = f"user {user.user_name} has no usable email address"
            shown = user.email or f"({user.user_name})"
            skipped.append(ContactChange(email=shown, action=ContactAction.SKIP, detail=detail))
            continue
        key = user.email.lower()
        earlier = chosen.get(key)
        merged = user_roles | (earlier[1] if earlier else frozenset())
        chosen[key] = (earlier[0] if earlier else user, merged)
    return chosen, skipped


def _user_change(
    user: IdentityUser,
    user_roles: frozenset[str],
    before: Contact | None,
    topics: Sequence[TopicSpec],
    gated: frozenset[str],
) -> ContactChange:
    entitled = entitled_topics(user_roles, topics)
    email = before.email if before else (user.email or "")
    after = desired_contact(email, entitled, before, gated)
    if before is None:
        action = ContactAction.ADD
    else:
        action = ContactAction.UNCHANGED if after == before else ContactAction.UPDATE
    return ContactChange(
        email=email,
        action=action,
        before=before,
        after=after,
        roles=tuple(sorted(user_roles)),
        topics=entitled,
        detail=user.user_name,
    )


def plan_import(
    *,
    list_name: str,
    users: Sequence[IdentityUser],
    roles: Mapping[str, frozenset[str]],
    topics: Sequence[TopicSpec],
    existing: Sequence[Contact],
    options: ImportOptions = ImportOptions(),
) -> ContactPlan:
    """Each user becomes an add, update or unchanged line; gone users a remove, if asked."""
    chosen, changes = _users_by_email(users, roles, options)
    current = {c.email.lower(): c for c in existing}
    gated = _gated_topics(topics) if options.revoke else frozenset()
    for key in sorted(chosen):
        user, user_roles = chosen[key]
        changes.append(_user_change(user, user_roles, current.get(key), topics, gated))
    if options.remove_missing:
        changes.extend(
            ContactChange(
                email=current[key].email,
                action=ContactAction.REMOVE,
                before=current[key],
                detail="no Identity Center user",
            )
            for key in sorted(set(current) - set(chosen))
        )
    return ContactPlan(list_name=list_name, changes=tuple(changes))

"""From the groups an IdP asserts to a role (and a CustomerManager's customers), by configuration.

The strongest role wins: ChangeManager, CustomerManager, Auditor, ReadOnly. No known group, no role.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from changecast.access.models import Role
from changecast.identity_settings import RoleMappingSettings


@dataclass(frozen=True)
class Grant:
    role: Role
    customers: frozenset[str] = frozenset()


def _pattern(template: str) -> re.Pattern[str] | None:
    if not template:
        return None
    before, after = template.split("{code}")
    return re.compile(f"^{re.escape(before)}(?P<code>[a-z0-9][a-z0-9-]{{0,31}}){re.escape(after)}$")


def grant_for(
    groups: Iterable[str], mapping: RoleMappingSettings, known_customers: Iterable[str]
) -> Grant | None:
    """The role these groups give, or None when no group is recognised."""
    names = {group.strip() for group in groups if group.strip()}
    if names & set(mapping.change_manager_groups):
        return Grant(Role.CHANGE_MANAGER)
    known = set(known_customers)
    customers: set[str] = set()
    pattern = _pattern(mapping.customer_manager_pattern)
    for name in names:
        found = pattern.match(name) if pattern else None
        if found and found.group("code") in known:
            customers.add(found.group("code"))
        customers.update(
            code for code in mapping.customer_manager_groups.get(name, []) if code in known
        )
    if customers:
        return Grant(Role.CUSTOMER_MANAGER, frozenset(customers))
    if names & set(mapping.auditor_groups):
        return Grant(Role.AUDITOR)
    if names & set(mapping.read_only_groups):
        return Grant(Role.READ_ONLY)
    return None

"""Pure backup and restore of a contact list: the file format, and the plan a restore makes."""

from __future__ import annotations

import json
from collections.abc import Sequence

from pydantic import ValidationError

from changecast.contacts.models import (
    Contact,
    ContactAction,
    ContactBackup,
    ContactChange,
    ContactListInfo,
    ContactPlan,
)
from changecast.errors import InvalidInputError, problems_from_pydantic

BACKUP_FORMAT = "changecast-contacts/1"


class BackupFileError(InvalidInputError):
    """A backup file is not JSON, or not a changecast contact backup."""


def make_backup(customer: str, info: ContactListInfo, contacts: Sequence[Contact]) -> ContactBackup:
    ordered = tuple(sorted(contacts, key=lambda c: c.email.lower()))
    return ContactBackup(
        customer=customer, contact_list=info.name, topics=info.topics, contacts=ordered
    )


def parse_backup(text: str, *, source: str) -> ContactBackup:
    """Read a backup file's text; any problem is a ``BackupFileError`` naming ``source``."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BackupFileError(f"{source}: not valid JSON: {exc.msg} at line {exc.lineno}") from None
    try:
        backup = ContactBackup.model_validate(raw)
    except ValidationError as exc:
        problems = problems_from_pydantic(exc.errors())
        lines = "; ".join(f"{p.field}: {p.problem}" for p in problems[:5])
        raise BackupFileError(f"{source}: {lines}", details=problems) from None
    if backup.format != BACKUP_FORMAT:
        raise BackupFileError(f"{source}: unknown backup format {backup.format[:40]!r}")
    return backup


def _same_preferences(a: Contact, b: Contact) -> bool:
    return a.preference_map() == b.preference_map() and a.unsubscribe_all == b.unsubscribe_all


def plan_restore(
    backup: ContactBackup, current: Sequence[Contact], *, list_name: str, prune: bool = False
) -> ContactPlan:
    """Bring each saved contact back exactly; with ``prune``, drop contacts the backup lacks."""
    now = {c.email.lower(): c for c in current}
    saved = {c.email.lower(): c for c in backup.contacts}
    changes: list[ContactChange] = []
    for key in sorted(saved):
        wanted = saved[key]
        before = now.get(key)
        if before is None:
            action = ContactAction.ADD
        elif _same_preferences(before, wanted):
            action = ContactAction.UNCHANGED
        else:
            action = ContactAction.UPDATE
        after = wanted.model_copy(update={"email": before.email}) if before else wanted
        changes.append(ContactChange(email=after.email, action=action, before=before, after=after))
    if prune:
        for key in sorted(set(now) - set(saved)):
            changes.append(
                ContactChange(
                    email=now[key].email,
                    action=ContactAction.REMOVE,
                    before=now[key],
                    detail="not in the backup",
                )
            )
    return ContactPlan(list_name=list_name, changes=tuple(changes))

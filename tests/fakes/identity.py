"""An in-memory Identity Center store (IdentityDirectoryPort) and Organization (Account API)."""

from __future__ import annotations

from changecast.contacts.models import (
    AlternateContact,
    AlternateContactType,
    IdentityGroup,
    IdentityUser,
    OrgAccount,
)
from changecast.errors import NotFoundError


class FakeIdentityDirectory:
    def __init__(self) -> None:
        self.users: list[IdentityUser] = []
        self.groups: list[IdentityGroup] = []
        self.members: dict[str, list[str]] = {}

    def add_user(self, user_id: str, email: str | None, *groups: str) -> None:
        self.users.append(IdentityUser(user_id=user_id, user_name=user_id, email=email))
        for name in groups:
            group = next((g for g in self.groups if g.name == name), None)
            if group is None:
                group = IdentityGroup(group_id=f"g-{len(self.groups)}", name=name)
                self.groups.append(group)
            self.members.setdefault(group.group_id, []).append(user_id)

    def list_users(self) -> list[IdentityUser]:
        return list(self.users)

    def list_groups(self) -> list[IdentityGroup]:
        return list(self.groups)

    def list_member_ids(self, group_id: str) -> list[str]:
        return list(self.members.get(group_id, []))


class FakeOrganization:
    """AlternateContactPort in memory."""

    def __init__(self, *account_ids: str) -> None:
        self.accounts = [OrgAccount(account_id=a, name=f"acct-{a[-4:]}") for a in account_ids]
        self.contacts: dict[tuple[str, AlternateContactType], AlternateContact] = {}

    def list_accounts(self) -> list[OrgAccount]:
        return list(self.accounts)

    def get_alternate_contact(
        self, account_id: str, contact_type: AlternateContactType
    ) -> AlternateContact | None:
        return self.contacts.get((account_id, contact_type))

    def put_alternate_contact(self, account_id: str, contact: AlternateContact) -> None:
        self.contacts[(account_id, contact.contact_type)] = contact

    def delete_alternate_contact(self, account_id: str, contact_type: AlternateContactType) -> None:
        if (account_id, contact_type) not in self.contacts:
            raise NotFoundError("no such contact")
        del self.contacts[(account_id, contact_type)]

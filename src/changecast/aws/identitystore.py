"""Identity Center, read only: the identity store's users, groups and group members."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from changecast.aws.errors import aws_call
from changecast.contacts.models import IdentityGroup, IdentityUser
from changecast.errors import NotFoundError

if TYPE_CHECKING:
    from mypy_boto3_identitystore import IdentityStoreClient


def find_identity_store_id(sso_admin: Any) -> str:
    """The identity store of the (one) Identity Center instance the caller can see."""
    with aws_call("ListInstances"):
        answer = sso_admin.list_instances()
    instances = answer.get("Instances") or []
    if not instances:
        raise NotFoundError("no IAM Identity Center instance is visible to this role")
    return str(instances[0]["IdentityStoreId"])


def primary_email(item: Any) -> str | None:
    """The primary address, else the first one; None when the user has none."""
    emails = [e for e in item.get("Emails") or () if e.get("Value")]
    chosen = next((e for e in emails if e.get("Primary")), emails[0] if emails else None)
    return str(chosen["Value"]).strip() if chosen else None


class IdentityStoreAdapter:
    """The ``IdentityDirectoryPort`` on one identity store; every call follows NextToken."""

    def __init__(self, client: IdentityStoreClient, identity_store_id: str) -> None:
        self.client = client
        self.store_id = identity_store_id

    def _pages(self, operation: str, key: str, **params: Any) -> Iterator[Any]:
        method = getattr(self.client, operation)
        request: dict[str, Any] = {"IdentityStoreId": self.store_id, **params}
        while True:
            with aws_call(f"{operation} {self.store_id}"):
                answer = method(**request)
            yield from answer.get(key) or ()
            token = answer.get("NextToken")
            if not token or token == request.get("NextToken"):
                return
            request["NextToken"] = token

    def list_users(self) -> list[IdentityUser]:
        return [
            IdentityUser(
                user_id=item["UserId"],
                user_name=item.get("UserName") or item["UserId"],
                display_name=item.get("DisplayName") or "",
                email=primary_email(item),
            )
            for item in self._pages("list_users", "Users")
        ]

    def list_groups(self) -> list[IdentityGroup]:
        return [
            IdentityGroup(group_id=item["GroupId"], name=item.get("DisplayName") or "")
            for item in self._pages("list_groups", "Groups")
        ]

    def list_member_ids(self, group_id: str) -> list[str]:
        return [
            str(item["MemberId"]["UserId"])
            for item in self._pages("list_group_memberships", "GroupMemberships", GroupId=group_id)
            if (item.get("MemberId") or {}).get("UserId")
        ]

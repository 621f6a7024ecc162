"""The Account API's alternate contacts across an Organization's accounts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from changecast.aws.errors import aws_call
from changecast.contacts.models import AlternateContact, AlternateContactType, OrgAccount
from changecast.errors import NotFoundError

if TYPE_CHECKING:
    from mypy_boto3_account import AccountClient
    from mypy_boto3_organizations import OrganizationsClient


class AccountContactsAdapter:
    """The ``AlternateContactPort``, called from the management (or delegated admin) account.

    The Account API refuses ``AccountId`` for the caller's own account, so it is left out there.
    """

    def __init__(
        self, account: AccountClient, organizations: OrganizationsClient, caller_account_id: str
    ) -> None:
        self.account = account
        self.organizations = organizations
        self.caller = caller_account_id

    def _target(self, account_id: str) -> dict[str, Any]:
        return {} if account_id == self.caller else {"AccountId": account_id}

    def list_accounts(self) -> list[OrgAccount]:
        found: list[OrgAccount] = []
        request: dict[str, Any] = {}
        while True:
            with aws_call("ListAccounts"):
                answer = self.organizations.list_accounts(**request)
            found.extend(
                OrgAccount(
                    account_id=item["Id"],
                    name=item.get("Name") or "",
                    status=item.get("Status") or "ACTIVE",
                )
                for item in answer.get("Accounts") or ()
            )
            token = answer.get("NextToken")
            if not token or token == request.get("NextToken"):
                return found
            request["NextToken"] = token

    def get_alternate_contact(
        self, account_id: str, contact_type: AlternateContactType
    ) -> AlternateContact | None:
        try:
            with aws_call(f"GetAlternateContact {account_id} {contact_type.value}"):
                answer = self.account.get_alternate_contact(
                    AlternateContactType=contact_type.value, **self._target(account_id)
                )
        except NotFoundError:
            return None
        item = answer["AlternateContact"]
        return AlternateContact(
            contact_type=contact_type,
            name=item.get("Name") or "-",
            title=item.get("Title") or "-",
            email=item.get("EmailAddress") or "-@-",
            phone=item.get("PhoneNumber") or "-",
        )

    def put_alternate_contact(self, account_id: str, contact: AlternateContact) -> None:
        with aws_call(f"PutAlternateContact {account_id} {contact.contact_type.value}"):
            self.account.put_alternate_contact(
                AlternateContactType=contact.contact_type.value,
                Name=contact.name,
                Title=contact.title,
                EmailAddress=contact.email,
                PhoneNumber=contact.phone,
                **self._target(account_id),
            )

    def delete_alternate_contact(self, account_id: str, contact_type: AlternateContactType) -> None:
        try:
            with aws_call(f"DeleteAlternateContact {account_id} {contact_type.value}"):
                self.account.delete_alternate_contact(
                    AlternateContactType=contact_type.value, **self._target(account_id)
                )
        except NotFoundError:
            return

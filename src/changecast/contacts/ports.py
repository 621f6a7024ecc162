"""The ports the contacts domain needs: SES contact lists, Identity Center, the Account API."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from changecast.contacts.domain import DomainStatus, EventDestination
from changecast.contacts.models import (
    AlternateContact,
    AlternateContactType,
    Contact,
    ContactListInfo,
    IdentityGroup,
    IdentityUser,
    ListTopic,
    OrgAccount,
    SuppressedDestination,
    SuppressionReason,
)


class ContactListPort(Protocol):
    """One customer's SES contact lists. Errors are changecast errors (NotFoundError, ...)."""

    def get_contact_list(self, name: str) -> ContactListInfo: ...

    def find_contact_list(self, name: str) -> ContactListInfo | None: ...

    def create_contact_list(self, info: ContactListInfo) -> None: ...

    def update_contact_list(
        self, name: str, *, topics: Sequence[ListTopic], description: str
    ) -> None: ...

    def list_contacts(self, list_name: str, *, topic: str | None = None) -> list[Contact]: ...

    def get_contact(self, list_name: str, email: str) -> Contact: ...

    def find_contact(self, list_name: str, email: str) -> Contact | None: ...

    def create_contact(self, list_name: str, contact: Contact) -> None: ...

    def update_contact(self, list_name: str, contact: Contact) -> None: ...

    def delete_contact(self, list_name: str, email: str) -> None: ...


class SuppressionPort(Protocol):
    """The account-level SES suppression list."""

    def put_suppressed(self, email: str, reason: SuppressionReason) -> None: ...

    def delete_suppressed(self, email: str) -> None: ...

    def get_suppressed(self, email: str) -> SuppressedDestination | None: ...

    def list_suppressed(self) -> list[SuppressedDestination]: ...


class IdentityDirectoryPort(Protocol):
    """An Identity Center identity store, read only."""

    def list_users(self) -> list[IdentityUser]: ...

    def list_groups(self) -> list[IdentityGroup]: ...

    def list_member_ids(self, group_id: str) -> list[str]: ...


class AlternateContactPort(Protocol):
    """An Organization's accounts and their alternate contacts (the Account API)."""

    def list_accounts(self) -> list[OrgAccount]: ...

    def get_alternate_contact(
        self, account_id: str, contact_type: AlternateContactType
    ) -> AlternateContact | None: ...

    def put_alternate_contact(self, account_id: str, contact: AlternateContact) -> None: ...

    def delete_alternate_contact(
        self, account_id: str, contact_type: AlternateContactType
    ) -> None: ...


class SendingDomainPort(Protocol):
    """One customer's SES sending domain: identity, MAIL FROM and configuration set."""

    def get_domain_status(self, domain: str) -> DomainStatus:
        """``exists=False`` when SES has no identity for ``domain``."""
        ...

    def create_domain_identity(self, domain: str) -> None:
        """Create the identity with Easy DKIM (RSA 2048); ``ConflictError`` if it exists."""
        ...

    def set_mail_from(self, domain: str, mail_from_domain: str) -> None: ...

    def ensure_configuration_set(self, name: str) -> bool:
        """TLS required and reputation metrics on; True when the set was created."""
        ...

    def set_identity_configuration_set(self, domain: str, name: str) -> None: ...

    def event_destinations(self, name: str) -> list[EventDestination]:
        """The configuration set's event destinations; empty when it has none or is absent."""
        ...

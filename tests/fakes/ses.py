"""In-memory SES: contact lists (ContactListPort), suppression list and sending domains.

Behaves like SESv2 where moto does not implement it (suppression, MAIL FROM, ...).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

from changecast.contacts.domain import DomainStatus, EventDestination
from changecast.contacts.models import (
    Contact,
    ContactListInfo,
    ListTopic,
    SuppressedDestination,
    SuppressionReason,
)
from changecast.contacts.topics import subscribers
from changecast.errors import ConflictError, InvalidInputError, NotFoundError


class FakeSes:
    """One customer's SES account, in memory; ``calls`` records each write."""

    def __init__(self) -> None:
        self.lists: dict[str, ContactListInfo] = {}
        self.contacts: dict[str, dict[str, Contact]] = {}
        self.suppressed: dict[str, SuppressedDestination] = {}
        self.calls: list[str] = []
        self._lock = threading.Lock()

    def get_contact_list(self, name: str) -> ContactListInfo:
        if name not in self.lists:
            raise NotFoundError(f"List with name: {name} doesn't exist.")
        return self.lists[name]

    def find_contact_list(self, name: str) -> ContactListInfo | None:
        return self.lists.get(name)

    def create_contact_list(self, info: ContactListInfo) -> None:
        if info.name in self.lists:
            raise ConflictError(f"list {info.name} exists")
        self.calls.append(f"CreateContactList {info.name}")
        self.lists[info.name] = info
        self.contacts[info.name] = {}

    def update_contact_list(
        self, name: str, *, topics: Sequence[ListTopic], description: str
    ) -> None:
        current = self.get_contact_list(name)
        self.calls.append(f"UpdateContactList {name}")
        self.lists[name] = current.model_copy(
            update={"topics": tuple(topics), "description": description}
        )

    def list_contacts(self, list_name: str, *, topic: str | None = None) -> list[Contact]:
        return list(self.iter_contacts(list_name, topic=topic))

    def iter_contacts(self, list_name: str, *, topic: str | None = None) -> Iterator[Contact]:
        """Every contact, or ``topic``'s subscribers, as a snapshot taken at the call."""
        info = self.get_contact_list(list_name)
        everyone = list(self.contacts[list_name].values())
        if topic is None:
            return iter(everyone)
        found = info.topic(topic)
        if found is None:
            raise NotFoundError(f"no topic {topic}")
        return iter(subscribers(everyone, topic, found.default_status))

    def get_contact(self, list_name: str, email: str) -> Contact:
        self.get_contact_list(list_name)
        if email not in self.contacts[list_name]:
            raise NotFoundError(f"{email} doesn't exist in List.")
        return self.contacts[list_name][email]

    def find_contact(self, list_name: str, email: str) -> Contact | None:
        try:
            return self.get_contact(list_name, email)
        except NotFoundError:
            return None

    def _check_topics(self, list_name: str, contact: Contact) -> None:
        info = self.get_contact_list(list_name)
        unknown = [p.topic for p in contact.preferences if info.topic(p.topic) is None]
        if unknown:
            raise InvalidInputError(f"unknown topics {unknown}")

    def create_contact(self, list_name: str, contact: Contact) -> None:
        self._check_topics(list_name, contact)
        if contact.email in self.contacts[list_name]:
            raise ConflictError(f"{contact.email} exists")
        self.calls.append(f"CreateContact {contact.email}")
        self.contacts[list_name][contact.email] = contact

    def update_contact(self, list_name: str, contact: Contact) -> None:
        self._check_topics(list_name, contact)
        before = self.get_contact(list_name, contact.email)
        self.calls.append(f"UpdateContact {contact.email}")
        attributes = contact.attributes if contact.attributes is not None else before.attributes
        self.contacts[list_name][contact.email] = contact.model_copy(
            update={"attributes": attributes}
        )

    def delete_contact(self, list_name: str, email: str) -> None:
        self.get_contact(list_name, email)
        self.calls.append(f"DeleteContact {email}")
        del self.contacts[list_name][email]

    def put_suppressed(self, email: str, reason: SuppressionReason) -> None:
        self.calls.append(f"PutSuppressedDestination {email}")
        self.suppressed[email.lower()] = SuppressedDestination(email=email, reason=reason)

    def delete_suppressed(self, email: str) -> None:
        if email.lower() not in self.suppressed:
            raise NotFoundError(f"{email} is not suppressed")
        self.calls.append(f"DeleteSuppressedDestination {email}")
        del self.suppressed[email.lower()]

    def get_suppressed(self, email: str) -> SuppressedDestination | None:
        return self.suppressed.get(email.lower())

    def list_suppressed(self) -> list[SuppressedDestination]:
        return list(self.suppressed.values())


class FakeSendingDomain:
    """SendingDomainPort in memory; ``verify`` plays the DNS provider and SES's checks."""

    def __init__(self) -> None:
        self.identities: dict[str, DomainStatus] = {}
        self.configuration_sets: dict[str, dict[str, object]] = {}
        self.destinations: dict[str, list[EventDestination]] = {}
        self.calls: list[str] = []

    def get_domain_status(self, domain: str) -> DomainStatus:
        return self.identities.get(domain, DomainStatus(domain=domain, exists=False))

    def create_domain_identity(self, domain: str) -> None:
        if domain in self.identities:
            raise ConflictError(f"{domain} exists")
        self.calls.append(f"CreateEmailIdentity {domain}")
        tokens = tuple(f"{domain.replace('.', '')}tok{i}" for i in range(3))
        self.identities[domain] = DomainStatus(
            domain=domain, dkim_status="PENDING", dkim_tokens=tokens
        )

    def set_mail_from(self, domain: str, mail_from_domain: str) -> None:
        self.calls.append(f"PutEmailIdentityMailFromAttributes {domain}")
        self.identities[domain] = self.identities[domain].model_copy(
            update={"mail_from_domain": mail_from_domain, "mail_from_status": "PENDING"}
        )

    def ensure_configuration_set(self, name: str) -> bool:
        created = name not in self.configuration_sets
        self.calls.append(f"EnsureConfigurationSet {name}")
        self.configuration_sets[name] = {"TlsPolicy": "REQUIRE", "ReputationMetricsEnabled": True}
        return created

    def event_destinations(self, name: str) -> list[EventDestination]:
        return list(self.destinations.get(name, []))

    def set_identity_configuration_set(self, domain: str, name: str) -> None:
        self.calls.append(f"PutEmailIdentityConfigurationSetAttributes {domain}")
        self.identities[domain] = self.identities[domain].model_copy(
            update={"configuration_set": name}
        )

    def verify(self, domain: str) -> None:
        self.identities[domain] = self.identities[domain].model_copy(
            update={
                "verified_for_sending": True,
                "dkim_status": "SUCCESS",
                "mail_from_status": "SUCCESS",
            }
        )

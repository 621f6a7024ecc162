"""The shapes of contact-list data (lists, topics, contacts, suppressions, alternate contacts).

Frozen pydantic models with our own snake_case names; adapters translate to and from AWS shapes.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from changecast.customers.models import SubscriptionStatus


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TopicPreference(_Frozen):
    """A contact's explicit choice for one topic."""

    topic: str = Field(min_length=1, max_length=64)
    status: SubscriptionStatus


class Contact(_Frozen):
    """One contact of a contact list. ``preferences`` holds only the explicit choices."""

    email: str = Field(min_length=3, max_length=320)
    preferences: tuple[TopicPreference, ...] = ()
    unsubscribe_all: bool = False
    attributes: str | None = None

    def preference_for(self, topic: str) -> SubscriptionStatus | None:
        """The explicit status for ``topic``, or None when the list default applies."""
        for preference in self.preferences:
            if preference.topic == topic:
                return preference.status
        return None

    def with_preference(self, topic: str, status: SubscriptionStatus | None) -> Contact:
        """A copy with ``topic`` set to ``status`` (None removes the explicit choice)."""
        kept = tuple(p for p in self.preferences if p.topic != topic)
        if status is not None:
            kept = (*kept, TopicPreference(topic=topic, status=status))
        return self.model_copy(update={"preferences": kept})

    def preference_map(self) -> dict[str, SubscriptionStatus]:
        return {p.topic: p.status for p in self.preferences}


class ListTopic(_Frozen):
    """One topic as it exists on (or should exist on) a contact list."""

    name: str = Field(min_length=1, max_length=64)
    display_name: str = Field(min_length=1, max_length=128)
    description: str = ""
    default_status: SubscriptionStatus = "OPT_OUT"


class ContactListInfo(_Frozen):
    """A contact list and its topics."""

    name: str
    description: str = ""
    topics: tuple[ListTopic, ...] = ()
    created: datetime | None = None
    updated: datetime | None = None

    def topic(self, name: str) -> ListTopic | None:
        for topic in self.topics:
            if topic.name == name:
                return topic
        return None


class SuppressionReason(StrEnum):
    BOUNCE = "BOUNCE"
    COMPLAINT = "COMPLAINT"


class SuppressedDestination(_Frozen):
    """One address on the account-level suppression list."""

    email: str
    reason: SuppressionReason
    last_update: datetime | None = None


class ContactBackup(_Frozen):
    """What ``ses contacts backup`` writes and ``restore`` reads."""

    format: str = "changecast-contacts/1"
    customer: str
    contact_list: str
    topics: tuple[ListTopic, ...] = ()
    contacts: tuple[Contact, ...] = ()


class IdentityUser(_Frozen):
    """An Identity Center user, with the one address we mail."""

    user_id: str
    user_name: str
    display_name: str = ""
    email: str | None = None


class IdentityGroup(_Frozen):
    group_id: str
    name: str


class AlternateContactType(StrEnum):
    BILLING = "BILLING"
    OPERATIONS = "OPERATIONS"
    SECURITY = "SECURITY"


class AlternateContact(_Frozen):
    """One alternate contact of an AWS account (the Account API's fields)."""

    contact_type: AlternateContactType
    name: str = Field(min_length=1, max_length=64)
    title: str = Field(min_length=1, max_length=50)
    email: str = Field(min_length=3, max_length=254)
    phone: str = Field(min_length=1, max_length=25)

    def same_person(self, other: AlternateContact) -> bool:
        return (
            self.name == other.name
            and self.title == other.title
            and self.email.lower() == other.email.lower()
            and self.phone == other.phone
        )


class OrgAccount(_Frozen):
    account_id: str
    name: str = ""
    status: str = "ACTIVE"


class ContactAction(StrEnum):
    ADD = "add"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    REMOVE = "remove"
    SKIP = "skip"


class ContactChange(_Frozen):
    """One contact's line in an import or restore plan."""

    email: str
    action: ContactAction
    before: Contact | None = None
    after: Contact | None = None
    detail: str = ""
    roles: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()


PENDING_CONTACT_ACTIONS = frozenset({ContactAction.ADD, ContactAction.UPDATE, ContactAction.REMOVE})


class ContactPlan(_Frozen):
    """What an import or a restore would do to one contact list."""

    list_name: str
    changes: tuple[ContactChange, ...] = ()

    @property
    def pending(self) -> tuple[ContactChange, ...]:
        return tuple(c for c in self.changes if c.action in PENDING_CONTACT_ACTIONS)

    def count(self, action: ContactAction) -> int:
        return sum(1 for c in self.changes if c.action is action)

    def summary(self) -> str:
        parts = [f"{self.count(a)} {a.value}" for a in ContactAction if self.count(a)]
        return ", ".join(parts) or "nothing"

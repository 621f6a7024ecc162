"""One customer's SESv2 contact lists, contacts, suppression list and test sends.

ListContacts is read page by page and filtered here as well, because moto ignores both.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import structlog

from changecast.aws.errors import aws_call
from changecast.contacts.models import (
    Contact,
    ContactListInfo,
    ListTopic,
    SuppressedDestination,
    SuppressionReason,
    TopicPreference,
)
from changecast.contacts.topics import is_subscribed
from changecast.errors import NotFoundError, UpstreamError

if TYPE_CHECKING:
    from mypy_boto3_sesv2 import SESV2Client
    from mypy_boto3_sesv2.type_defs import TopicPreferenceTypeDef, TopicTypeDef

log = structlog.get_logger()
PAGE_SIZE = 1000


def contact_from_aws(item: Any) -> Contact:
    """A ListContacts or GetContact item as our Contact."""
    return Contact(
        email=item["EmailAddress"],
        preferences=tuple(
            TopicPreference(topic=p["TopicName"], status=p["SubscriptionStatus"])
            for p in item.get("TopicPreferences") or ()
        ),
        unsubscribe_all=bool(item.get("UnsubscribeAll", False)),
        attributes=item.get("AttributesData") or None,
    )


def topic_from_aws(item: Any) -> ListTopic:
    return ListTopic(
        name=item["TopicName"],
        display_name=item.get("DisplayName") or item["TopicName"],
        description=item.get("Description") or "",
        default_status=item.get("DefaultSubscriptionStatus") or "OPT_OUT",
    )


def topic_to_aws(topic: ListTopic) -> TopicTypeDef:
    return {
        "TopicName": topic.name,
        "DisplayName": topic.display_name,
        "Description": topic.description,
        "DefaultSubscriptionStatus": topic.default_status,
    }


def preferences_to_aws(contact: Contact) -> list[TopicPreferenceTypeDef]:
    return [{"TopicName": p.topic, "SubscriptionStatus": p.status} for p in contact.preferences]


class SesContactListAdapter:
    """SESv2 for one customer (one assumed role, one region)."""

    def __init__(self, client: SESV2Client, *, server_filter: bool = True) -> None:
        self.client = client
        self.server_filter = server_filter

    # -- contact lists -------------------------------------------------------------------------
    def get_contact_list(self, name: str) -> ContactListInfo:
        """The list and its topics; ``NotFoundError`` when it does not exist."""
        with aws_call(f"GetContactList {name}"):
            answer = self.client.get_contact_list(ContactListName=name)
        return ContactListInfo(
            name=answer["ContactListName"],
            description=answer.get("Description") or "",
            topics=tuple(topic_from_aws(t) for t in answer.get("Topics") or ()),
            created=answer.get("CreatedTimestamp"),
            updated=answer.get("LastUpdatedTimestamp"),
        )

    def find_contact_list(self, name: str) -> ContactListInfo | None:
        try:
            return self.get_contact_list(name)
        except NotFoundError:
            return None

    def create_contact_list(self, info: ContactListInfo) -> None:
        with aws_call(f"CreateContactList {info.name}"):
            self.client.create_contact_list(
                ContactListName=info.name,
                Description=info.description,
                Topics=[topic_to_aws(t) for t in info.topics],
            )

    def update_contact_list(
        self, name: str, *, topics: Sequence[ListTopic], description: str
    ) -> None:
        """Replace the list's topics in place; contacts and their preferences stay."""
        with aws_call(f"UpdateContactList {name}"):
            self.client.update_contact_list(
                ContactListName=name,
                Description=description,
                Topics=[topic_to_aws(t) for t in topics],
            )

    # -- contacts ------------------------------------------------------------------------------
    def list_contacts(self, list_name: str, *, topic: str | None = None) -> list[Contact]:
        """Every contact (every page); with ``topic``, only those SES would mail for it."""
        return list(self.iter_contacts(list_name, topic=topic))

    def iter_contacts(self, list_name: str, *, topic: str | None = None) -> Iterator[Contact]:
        """As ``list_contacts``, read one page at a time as the caller goes (one page held).

        An unknown ``topic`` raises ``NotFoundError`` at the call, before any page is read.
        """
        if topic is None:
            return self._pages(list_name, None)
        found = self.get_contact_list(list_name).topic(topic)
        if found is None:
            raise NotFoundError(
                f"contact list {list_name!r} has no topic {topic!r}", topic=topic, list=list_name
            )
        default = found.default_status
        return (c for c in self._pages(list_name, topic) if is_subscribed(c, topic, default))

    def _pages(self, list_name: str, topic: str | None) -> Iterator[Contact]:
        request: dict[str, Any] = {"ContactListName": list_name, "PageSize": PAGE_SIZE}
        if topic is not None and self.server_filter:
            request["Filter"] = {
                "FilteredStatus": "OPT_IN",
                "TopicFilter": {"TopicName": topic, "UseDefaultIfPreferenceUnavailable": True},
            }
        seen: set[str] = set()
        pages = 0
        while True:
            with aws_call(f"ListContacts {list_name}"):
                answer = self.client.list_contacts(**request)
            pages += 1
            yield from (contact_from_aws(item) for item in answer.get("Contacts") or ())
            token = answer.get("NextToken")
            if not token:
                break
            if token in seen:
                raise UpstreamError(f"ListContacts {list_name} repeated a page", retryable=False)
            seen.add(token)
            request["NextToken"] = token
        log.debug("ses_contacts_listed", contact_list=list_name, topic=topic, pages=pages)

    def get_contact(self, list_name: str, email: str) -> Contact:
        with aws_call(f"GetContact {email}"):
            answer = self.client.get_contact(ContactListName=list_name, EmailAddress=email)
        return contact_from_aws(answer)

    def find_contact(self, list_name: str, email: str) -> Contact | None:
        try:
            return self.get_contact(list_name, email)
        except NotFoundError:
            return None

    def create_contact(self, list_name: str, contact: Contact) -> None:
        extra: dict[str, Any] = {}
        if contact.attributes is not None:
            extra["AttributesData"] = contact.attributes
        with aws_call(f"CreateContact {contact.email}"):
            self.client.create_contact(
                ContactListName=list_name,
                EmailAddress=contact.email,
                TopicPreferences=preferences_to_aws(contact),
                UnsubscribeAll=contact.unsubscribe_all,
                **extra,
            )

    def update_contact(self, list_name: str, contact: Contact) -> None:
        """Replace the contact's explicit preferences with exactly ``contact.preferences``."""
        extra: dict[str, Any] = {}
        if contact.attributes is not None:
            extra["AttributesData"] = contact.attributes
        with aws_call(f"UpdateContact {contact.email}"):
            self.client.update_contact(
                ContactListName=list_name,
                EmailAddress=contact.email,
                TopicPreferences=preferences_to_aws(contact),
                UnsubscribeAll=contact.unsubscribe_all,
                **extra,
            )

    def delete_contact(self, list_name: str, email: str) -> None:
        with aws_call(f"DeleteContact {email}"):
            self.client.delete_contact(ContactListName=list_name, EmailAddress=email)

    # -- account-level suppression list --------------------------------------------------------
    def put_suppressed(self, email: str, reason: SuppressionReason) -> None:
        with aws_call(f"PutSuppressedDestination {email}"):
            self.client.put_suppressed_destination(EmailAddress=email, Reason=reason.value)

    def delete_suppressed(self, email: str) -> None:
        with aws_call(f"DeleteSuppressedDestination {email}"):
            self.client.delete_suppressed_destination(EmailAddress=email)

    def get_suppressed(self, email: str) -> SuppressedDestination | None:
        """The suppression entry for ``email``, or None when it is not suppressed."""
        try:
            with aws_call(f"GetSuppressedDestination {email}"):
                answer = self.client.get_suppressed_destination(EmailAddress=email)
        except NotFoundError:
            return None
        item = answer["SuppressedDestination"]
        return SuppressedDestination(
            email=item["EmailAddress"],
            reason=SuppressionReason(item["Reason"]),
            last_update=item.get("LastUpdateTime"),
        )

    def list_suppressed(self) -> list[SuppressedDestination]:
        """Every page of the account's suppression list."""
        found: list[SuppressedDestination] = []
        request: dict[str, Any] = {"PageSize": 1000}
        while True:
            with aws_call("ListSuppressedDestinations"):
                answer = self.client.list_suppressed_destinations(**request)
            found.extend(
                SuppressedDestination(
                    email=item["EmailAddress"],
                    reason=SuppressionReason(item["Reason"]),
                    last_update=item.get("LastUpdateTime"),
                )
                for item in answer.get("SuppressedDestinationSummaries") or ()
            )
            token = answer.get("NextToken")
            if not token or token == request.get("NextToken"):
                return found
            request["NextToken"] = token

    # -- sending -------------------------------------------------------------------------------
    def send_simple(
        self,
        *,
        sender: str,
        to: str,
        subject: str,
        text: str,
        list_name: str | None = None,
        topic: str | None = None,
    ) -> str:
        """Send one plain-text message; with a list and topic, SES adds its unsubscribe link."""
        extra: dict[str, Any] = {}
        if list_name is not None and topic is not None:
            extra["ListManagementOptions"] = {"ContactListName": list_name, "TopicName": topic}
        with aws_call(f"SendEmail to {to}"):
            answer = self.client.send_email(
                FromEmailAddress=sender,
                Destination={"ToAddresses": [to]},
                Content={
                    "Simple": {
                        "Subject": {"Data": subject, "Charset": "UTF-8"},
                        "Body": {"Text": {"Data": text, "Charset": "UTF-8"}},
                    }
                },
                **extra,
            )
        return answer["MessageId"]

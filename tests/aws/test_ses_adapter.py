"""The SESv2 adapters: contact lists on moto, and paging against a fake client.

moto 5.2.5 ignores ListContacts' ``Filter`` and never pages (no ``NextToken``), so the adapter
pages and filters on its own; these tests show both halves.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, cast

import boto3
import pytest
from botocore.exceptions import ClientError

from changecast.aws.ses import PAGE_SIZE, SesContactListAdapter
from changecast.aws.ses_domain import SesDomainAdapter
from changecast.contacts.models import (
    Contact,
    ContactListInfo,
    ListTopic,
    SuppressionReason,
    TopicPreference,
)
from changecast.contacts.topics import is_subscribed
from changecast.errors import NotFoundError, UpstreamError

if TYPE_CHECKING:
    from mypy_boto3_sesv2 import SESV2Client

TOPICS = (
    ListTopic(name="aws-announce", display_name="Announce", default_status="OPT_IN"),
    ListTopic(name="aws-approval", display_name="Approval", default_status="OPT_OUT"),
)


@pytest.fixture
def sesv2(aws_env: None) -> Iterator[SESV2Client]:
    from moto import mock_aws

    with mock_aws():
        yield boto3.client("sesv2", region_name="us-east-1")


def mixed_contact(i: int) -> Contact:
    """Four kinds: defaults, opted out of announce, opted in to approval, unsubscribed all."""
    kind = i % 4
    prefs: tuple[TopicPreference, ...] = ()
    if kind == 1:
        prefs = (TopicPreference(topic="aws-announce", status="OPT_OUT"),)
    elif kind == 2:
        prefs = (TopicPreference(topic="aws-approval", status="OPT_IN"),)
    return Contact(email=f"c{i:04d}@example.com", preferences=prefs, unsubscribe_all=kind == 3)


def test_moto_ignores_filters_so_the_adapter_filters_1000_contacts(sesv2: SESV2Client) -> None:
    """moto returns every contact whatever the Filter says; our adapter still gets it right."""
    ses = SesContactListAdapter(sesv2)
    ses.create_contact_list(ContactListInfo(name="l", topics=TOPICS))
    contacts = [mixed_contact(i) for i in range(1000)]
    for contact in contacts:
        ses.create_contact("l", contact)

    raw = sesv2.list_contacts(
        ContactListName="l",
        PageSize=10,
        Filter={"FilteredStatus": "OPT_IN", "TopicFilter": {"TopicName": "aws-approval"}},
    )
    assert len(raw["Contacts"]) == 1000  # moto: no filter, no paging
    assert "NextToken" not in raw or not raw["NextToken"]

    for topic in TOPICS:
        expected = sum(1 for c in contacts if is_subscribed(c, topic.name, topic.default_status))
        assert len(ses.list_contacts("l", topic=topic.name)) == expected
    assert len(ses.list_contacts("l", topic="aws-announce")) == 500
    assert len(ses.list_contacts("l", topic="aws-approval")) == 250
    assert len(ses.list_contacts("l")) == 1000


def test_contact_round_trip_and_errors_on_moto(sesv2: SESV2Client) -> None:
    ses = SesContactListAdapter(sesv2)
    with pytest.raises(NotFoundError):
        ses.get_contact_list("missing")
    assert ses.find_contact_list("missing") is None
    ses.create_contact_list(ContactListInfo(name="l", description="d", topics=TOPICS))
    assert ses.get_contact_list("l").topics == TOPICS
    contact = mixed_contact(2)
    ses.create_contact("l", contact)
    assert ses.get_contact("l", contact.email) == contact
    changed = contact.with_preference("aws-announce", "OPT_OUT")
    ses.update_contact("l", changed)
    assert ses.get_contact("l", contact.email).preference_map() == changed.preference_map()
    ses.delete_contact("l", contact.email)
    assert ses.find_contact("l", contact.email) is None
    with pytest.raises(NotFoundError):
        ses.list_contacts("l", topic="no-such-topic")


class PagedSesClient:
    """A stand-in for SESv2 that pages like the real service (moto does not)."""

    def __init__(self, contacts: list[Contact], page: int) -> None:
        self.contacts = contacts
        self.page = page
        self.requests: list[dict[str, Any]] = []
        self.suppressed = [f"s{i}@example.com" for i in range(5)]
        self.repeat_token = False

    def get_contact_list(self, ContactListName: str) -> dict[str, Any]:
        return {
            "ContactListName": ContactListName,
            "Topics": [
                {
                    "TopicName": t.name,
                    "DisplayName": t.display_name,
                    "DefaultSubscriptionStatus": t.default_status,
                }
                for t in TOPICS
            ],
        }

    def list_contacts(self, **request: Any) -> dict[str, Any]:
        self.requests.append(request)
        start = 0 if self.repeat_token else int(request.get("NextToken") or 0)
        chunk = self.contacts[start : start + self.page]
        answer: dict[str, Any] = {
            "Contacts": [
                {
                    "EmailAddress": c.email,
                    "TopicPreferences": [
                        {"TopicName": p.topic, "SubscriptionStatus": p.status}
                        for p in c.preferences
                    ],
                    "UnsubscribeAll": c.unsubscribe_all,
                }
                for c in chunk
            ]
        }
        if start + self.page < len(self.contacts):
            answer["NextToken"] = str(start + self.page)
        return answer

    def list_suppressed_destinations(self, **request: Any) -> dict[str, Any]:
        start = int(request.get("NextToken") or 0)
        chunk = self.suppressed[start : start + 2]
        answer: dict[str, Any] = {
            "SuppressedDestinationSummaries": [
                {"EmailAddress": e, "Reason": "BOUNCE"} for e in chunk
            ]
        }
        if start + 2 < len(self.suppressed):
            answer["NextToken"] = str(start + 2)
        return answer

    def get_suppressed_destination(self, EmailAddress: str) -> dict[str, Any]:
        if EmailAddress not in self.suppressed:
            error = {"Error": {"Code": "NotFoundException", "Message": "not suppressed"}}
            raise ClientError(error, "GetSuppressedDestination")  # type: ignore[arg-type]
        return {"SuppressedDestination": {"EmailAddress": EmailAddress, "Reason": "COMPLAINT"}}


def _adapter(fake: PagedSesClient) -> SesContactListAdapter:
    return SesContactListAdapter(cast("SESV2Client", fake))


def test_adapter_follows_next_token_over_every_page() -> None:
    contacts = [mixed_contact(i) for i in range(10)]
    fake = PagedSesClient(contacts, page=3)
    assert _adapter(fake).list_contacts("l") == contacts
    assert [r.get("NextToken") for r in fake.requests] == [None, "3", "6", "9"]


def test_adapter_filters_pages_and_asks_ses_to_filter_too() -> None:
    contacts = [mixed_contact(i) for i in range(10)]
    fake = PagedSesClient(contacts, page=4)
    found = _adapter(fake).list_contacts("l", topic="aws-approval")
    assert [c.email for c in found] == [c.email for c in contacts if c.email[-13] in "26"]
    assert fake.requests[0]["Filter"]["TopicFilter"] == {
        "TopicName": "aws-approval",
        "UseDefaultIfPreferenceUnavailable": True,
    }


def test_a_10000_contact_list_is_read_page_by_page_as_the_caller_goes() -> None:
    contacts = [mixed_contact(i) for i in range(10_000)]
    fake = PagedSesClient(contacts, page=PAGE_SIZE)
    stream = _adapter(fake).iter_contacts("l", topic="aws-announce")
    assert fake.requests == []  # nothing read until the caller asks
    first = next(stream)
    assert first.email == "c0000@example.com"
    assert len(fake.requests) == 1  # one page held, not the list
    found = [first.email, *(c.email for c in stream)]
    expected = [c.email for c in contacts if is_subscribed(c, "aws-announce", "OPT_IN")]
    assert found == expected  # every subscriber once, in list order
    assert len(set(found)) == len(found) == 5000
    assert [r.get("NextToken") for r in fake.requests] == [
        None,
        *(str(n * PAGE_SIZE) for n in range(1, 10)),
    ]
    assert {r["PageSize"] for r in fake.requests} == {PAGE_SIZE}


def test_an_unknown_topic_is_refused_before_any_page_is_read() -> None:
    fake = PagedSesClient([mixed_contact(i) for i in range(10)], page=3)
    with pytest.raises(NotFoundError):
        _adapter(fake).iter_contacts("l", topic="no-such-topic")
    assert fake.requests == []


def test_a_repeated_page_token_stops_the_loop() -> None:
    fake = PagedSesClient([mixed_contact(i) for i in range(10)], page=3)
    fake.repeat_token = True
    with pytest.raises(UpstreamError):
        _adapter(fake).list_contacts("l")


def test_suppression_list_pages_and_lookup() -> None:
    """moto has no suppression list; this fake client pages like SESv2 does."""
    fake = PagedSesClient([], page=1)
    ses = _adapter(fake)
    assert [s.email for s in ses.list_suppressed()] == fake.suppressed
    found = ses.get_suppressed("s1@example.com")
    assert found is not None
    assert found.reason is SuppressionReason.COMPLAINT
    assert ses.get_suppressed("nobody@example.com") is None


def test_send_simple_on_moto(sesv2: SESV2Client) -> None:
    sesv2.create_email_identity(EmailIdentity="example.com")
    ses = SesContactListAdapter(sesv2)
    ses.create_contact_list(ContactListInfo(name="l", topics=TOPICS))
    message_id = ses.send_simple(
        sender="noreply@example.com",
        to="a@example.com",
        subject="s",
        text="t",
        list_name="l",
        topic="aws-announce",
    )
    assert message_id


def test_domain_identity_and_configuration_set_on_moto(sesv2: SESV2Client) -> None:
    domain = SesDomainAdapter(sesv2)
    assert not domain.get_domain_status("example.com").exists
    domain.create_domain_identity("example.com")
    status = domain.get_domain_status("example.com")
    assert status.exists
    assert domain.ensure_configuration_set("cs") is True
    settings = sesv2.get_configuration_set(ConfigurationSetName="cs")
    assert settings["DeliveryOptions"]["TlsPolicy"] == "REQUIRE"
    assert settings["ReputationOptions"]["ReputationMetricsEnabled"] is True
    # an existing, already compliant set needs no Put* calls (moto has none)
    assert domain.ensure_configuration_set("cs") is False


class LooseConfigSetClient:
    """SESv2 with an old configuration set: TLS optional, no reputation metrics, a pool."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def create_configuration_set(self, **request: Any) -> None:
        error = {"Error": {"Code": "AlreadyExistsException", "Message": "exists"}}
        raise ClientError(error, "CreateConfigurationSet")  # type: ignore[arg-type]

    def get_configuration_set(self, **request: Any) -> dict[str, Any]:
        return {
            "DeliveryOptions": {"TlsPolicy": "OPTIONAL", "SendingPoolName": "pool"},
            "ReputationOptions": {"ReputationMetricsEnabled": False},
        }

    def put_configuration_set_delivery_options(self, **request: Any) -> None:
        self.calls.append(("delivery", request))

    def put_configuration_set_reputation_options(self, **request: Any) -> None:
        self.calls.append(("reputation", request))


def test_existing_configuration_set_is_brought_in_line_keeping_its_pool() -> None:
    """moto lacks PutConfigurationSet*Options; a fake client stands in for SESv2."""
    fake = LooseConfigSetClient()
    assert SesDomainAdapter(cast("SESV2Client", fake)).ensure_configuration_set("cs") is False
    assert fake.calls == [
        (
            "delivery",
            {"ConfigurationSetName": "cs", "TlsPolicy": "REQUIRE", "SendingPoolName": "pool"},
        ),
        ("reputation", {"ConfigurationSetName": "cs", "ReputationMetricsEnabled": True}),
    ]

"""Recipients per topic from a customer's SES contact list (``delivery.recipients`` port)."""

from __future__ import annotations

from dataclasses import dataclass

from changecast.aws.ses import SesContactListAdapter
from changecast.aws.sessions import AwsClients
from changecast.customers.models import CustomerMapping
from changecast.delivery.audience import audience
from changecast.delivery.recipients import TopicCount
from changecast.errors import ChangecastError


@dataclass(frozen=True)
class SesRecipientCounter:
    """Reads each customer's contact list through its SES role.

    The worker's ``audience`` rule (off production, only the restricted recipients) turns
    subscribers into recipients.
    """

    aws: AwsClients

    def count(self, customer: CustomerMapping, topics: list[str]) -> list[TopicCount]:
        try:
            client = self.aws.for_role(customer.admin_role_arn, "sesv2", region=customer.region)
            contacts = SesContactListAdapter(client)
            return [self._one(contacts, customer, topic) for topic in topics]
        except ChangecastError as exc:
            return [TopicCount(topic, None, None, exc.message) for topic in topics]

    @staticmethod
    def _one(contacts: SesContactListAdapter, customer: CustomerMapping, topic: str) -> TopicCount:
        try:
            found = contacts.list_contacts(customer.contact_list_name, topic=topic)
        except ChangecastError as exc:
            return TopicCount(topic, None, None, exc.message)
        chosen = audience(found, customer)
        return TopicCount(topic, len(chosen.recipients) + chosen.filtered, len(chosen.recipients))

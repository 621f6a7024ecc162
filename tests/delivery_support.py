"""Builders for delivery tests: stored changes, published triggers, demo contact lists."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from changecast.changes.archive import ChangeArchive
from changecast.changes.models import Change, ChangeStatus
from changecast.contacts.models import Contact, ContactListInfo, TopicPreference
from changecast.contacts.topics import desired_topics
from changecast.customers.models import CustomerMapping
from changecast.distribution.models import DistributionEvent, Trigger
from changecast.ids import ChangeId
from changecast.layout import version_key
from changecast.local.demo import DEMO_CONTACTS, contact_address, demo_ses_config
from changecast.ports import ObjectStore
from tests.builders import change_body
from tests.fakes.ses import FakeSes

CREATED = datetime(2030, 1, 2, 8, 0, tzinfo=UTC)


class StepClock:
    """A clock that moves on by ``step`` each time it is read (thread-safe)."""

    def __init__(self, start: datetime = CREATED, step: timedelta = timedelta(0)) -> None:
        self.at = start
        self.step = step
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            current = self.at
            self.at += self.step
            return current


def stored_change(
    *,
    status: ChangeStatus = ChangeStatus.APPROVED,
    version: int = 1,
    customers: list[str] | None = None,
    change_id: str | None = None,
    approved_before: bool | None = None,
    metadata: dict[str, Any] | None = None,
    **body: Any,
) -> Change:
    """An archived change document; its history holds an approval when it was ever approved."""
    approved = status is ChangeStatus.APPROVED if approved_before is None else approved_before
    history = [
        {"action": "submit", "status": "submitted", "version": 1, "at": CREATED, "by": "a@x.com"}
    ]
    if approved:
        history.append(
            {
                "action": "approve",
                "status": "approved",
                "version": 1,
                "at": CREATED,
                "by": "b@x.com",
            }
        )
    fields = change_body(customers=customers, **body)
    fields["changeMetadata"].update(metadata or {})
    doc = {
        "changeId": change_id or str(uuid.uuid4()),
        "version": version,
        "createdAt": CREATED,
        "modifiedAt": CREATED,
        "createdBy": "author@ccoe.example.com",
        "modifiedBy": "author@ccoe.example.com",
        "status": status.value,
        "history": history,
        **fields,
    }
    return Change.model_validate(doc)


def publish(
    store: ObjectStore,
    change: Change,
    event: DistributionEvent,
    customer: str,
    *,
    write_version: bool = True,
) -> Trigger:
    """Archive ``change`` (once) and write its trigger for ``customer``, as the portal does."""
    key = version_key(ChangeId(change.change_id), change.created_at, change.version)
    if write_version and not store.exists(key):
        ChangeArchive(store).write_version(change)
    approved = change.was_approved()
    trigger = Trigger(
        change_id=change.change_id,
        version=change.version,
        event=event,
        customer_code=customer,
        archive_key=key,
        was_approved=approved,
        invite_sent=approved,
        actor="manager@ccoe.example.com",
        created_at=CREATED,
    )
    store.put(trigger.key, trigger.to_bytes())
    return trigger


def demo_contact_list(mapping: CustomerMapping, count: int) -> FakeSes:
    """The contact list ``local up`` provisions: the first ``count`` demo contacts."""
    ses = FakeSes()
    ses.create_contact_list(
        ContactListInfo(name=mapping.contact_list_name, topics=desired_topics(demo_ses_config()))
    )
    for contact in DEMO_CONTACTS[:count]:
        ses.create_contact(
            mapping.contact_list_name,
            Contact(
                email=contact_address(contact, mapping.customer_code),
                preferences=tuple(
                    TopicPreference(topic=t, status=s) for t, s in contact.preferences.items()
                ),
                unsubscribe_all=contact.unsubscribe_all,
            ),
        )
    return ses


def many_contacts(mapping: CustomerMapping, count: int, *, topic: str = "aws-announce") -> FakeSes:
    """A list of ``count`` contacts opted in to ``topic``."""
    ses = FakeSes()
    ses.create_contact_list(
        ContactListInfo(name=mapping.contact_list_name, topics=desired_topics(demo_ses_config()))
    )
    for number in range(count):
        ses.create_contact(
            mapping.contact_list_name,
            Contact(
                email=f"person-{number:04d}@{mapping.customer_code}.example.com",
                preferences=(TopicPreference(topic=topic, status="OPT_IN"),),
            ),
        )
    return ses

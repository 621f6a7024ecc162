"""What the embedded SES sent for one customer: subject, recipients, topic and any invite.

Runs inside ``local up`` (moto's store lives in its memory); the topic of a simple message comes
from the delivery ledger, and that of a raw one from its ``X-Changecast-Topic`` header.
"""

from __future__ import annotations

import contextlib
import email
from datetime import datetime
from email.header import decode_header, make_header
from email.message import Message
from email.utils import parsedate_to_datetime

import icalendar
from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from changecast.aws.dynamodb import DynamoDbLedger
from changecast.bootstrap import Runtime
from changecast.delivery.ledger import LedgerEntry
from changecast.delivery.mime import CHANGE_HEADER, TOPIC_HEADER
from changecast.local.moto_store import MotoMail
from changecast.local.state_mirror import all_mail


class _Out(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)


class OutboxInvite(_Out):
    method: str
    uid: str
    sequence: int
    status: str
    summary: str


class OutboxItem(_Out):
    """One sent message, as the outbox shows it."""

    message_id: str
    sender: str
    recipients: list[str]
    subject: str
    topic: str | None
    has_invite: bool
    invite: OutboxInvite | None = None
    body: str
    sent_at: datetime | None = None
    """The message's Date header (when the worker built it); None for a message without one."""
    change_id: str | None = None
    """The change the message is about (its X-Changecast-Change header)."""


def _header(message: Message, name: str) -> str:
    value = message.get(name)
    return "" if value is None else str(make_header(decode_header(str(value))))


def _invite(message: Message) -> OutboxInvite | None:
    for part in message.walk():
        if part.get_content_type() != "text/calendar":
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            return None
        event = icalendar.Calendar.from_ical(payload)
        found = event.walk("VEVENT")[0]
        return OutboxInvite(
            method=str(event.get("METHOD", "")),
            uid=str(found.get("UID", "")),
            sequence=int(found.get("SEQUENCE", 0)),
            status=str(found.get("STATUS", "")),
            summary=str(found.get("SUMMARY", "")),
        )
    return None


def outbox_item(mail: MotoMail, sent: dict[str, LedgerEntry]) -> OutboxItem:
    """One moto message, with its topic, change and when it was sent.

    ``sent`` maps SES message ids to their ledger entries; a raw message's headers come first.
    """
    entry = sent.get(mail.message_id)
    topic = entry.topic if entry else None
    change_id = entry.partition.split("#")[1] if entry and entry.partition.count("#") >= 3 else None
    sent_at = entry.updated_at if entry else None
    if mail.raw is None:
        return OutboxItem(
            message_id=mail.message_id,
            sender=mail.source,
            recipients=list(mail.destinations),
            subject=mail.subject or "",
            topic=topic,
            has_invite=False,
            body=mail.body or "",
            sent_at=sent_at,
            change_id=change_id,
        )
    parsed = email.message_from_string(mail.raw)
    invite = _invite(parsed)
    with contextlib.suppress(TypeError, ValueError):  # no Date header: the ledger's time
        sent_at = parsedate_to_datetime(_header(parsed, "Date")) or sent_at
    return OutboxItem(
        message_id=mail.message_id,
        sender=mail.source,
        recipients=list(mail.destinations),
        subject=_header(parsed, "Subject"),
        topic=_header(parsed, TOPIC_HEADER) or topic,
        has_invite=invite is not None,
        invite=invite,
        body=mail.raw,
        sent_at=sent_at,
        change_id=_header(parsed, CHANGE_HEADER) or change_id,
    )


def read_outbox(runtime: Runtime, customer: str) -> list[OutboxItem]:
    """Every message the embedded SES accepted in ``customer``'s account, oldest first.

    Messages of earlier runs come from the data directory (``local up`` keeps them there).
    """
    mapping = runtime.directory.get(customer)
    table = runtime.local.ledger_table if runtime.local else runtime.settings.delivery.ledger_table
    ledger = DynamoDbLedger(runtime.aws.client("dynamodb"), table)
    sent = ledger.sent_entries(customer)
    data_dir = runtime.settings.data_dir if runtime.local is not None else None
    mail = all_mail(data_dir, mapping.account_id, mapping.region)
    return [outbox_item(item, sent) for item in mail]

"""The embedded SES's events: what SES's mailbox simulator would publish, through SNS to SQS.

moto's SES accepts mail but emits no events. Here every message the local workers send is
followed, a moment later, by the SES event records (SES's SNS format) SES would publish to the
customer's configuration set topic: ``success@simulator.amazonses.com`` (and any other address)
is delivered, ``bounce@`` bounces (Permanent/General), ``complaint@`` is delivered and then
complained about (abuse), ``suppressionlist@`` bounces (Permanent/OnSuppressionList).

Every event published is also appended to ``ses-events.jsonl`` in the data directory (the
journal), so ``changecast events replay`` can publish them again: replays, duplicates and any
order must change nothing.
"""

from __future__ import annotations

import heapq
import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import structlog

from changecast.delivery.ports import ContactSource, MailPort, SesAccount
from changecast.errors import ChangecastError, InvalidInputError

log = structlog.get_logger()

SIMULATOR_DOMAIN = "simulator.amazonses.com"
SIMULATOR_ADDRESSES = tuple(
    f"{local}@{SIMULATOR_DOMAIN}" for local in ("success", "bounce", "complaint", "suppressionlist")
)
CONFIGURATION_SET = "changecast"
DELAY_SECONDS = 0.5
"""How long after the send the events are published (SES takes a few seconds)."""
JOURNAL = "ses-events.jsonl"
"""In the data directory: one line per published event, ``{"topicArn": ..., "message": ...}``."""


def journal_events(path: Path, *, customer: str | None = None) -> list[tuple[str, str]]:
    """The journal's (topic ARN, message), oldest first; only ``customer``'s when given."""
    if not path.is_file():
        return []
    found: list[tuple[str, str]] = []
    suffix = f":{topic_name(customer)}" if customer else ""
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                topic, message = str(record["topicArn"]), str(record["message"])
            except (ValueError, KeyError, TypeError) as exc:
                raise InvalidInputError(
                    f"{path}:{number} is not a journal line ({type(exc).__name__}); "
                    "remove it or the file"
                ) from exc
            if topic.endswith(suffix):
                found.append((topic, message))
    return found


def topic_name(code: str) -> str:
    """The SNS topic of a customer's configuration set event destination."""
    return f"changecast-ses-events-{code}"


@dataclass(frozen=True)
class SentMessage:
    """What the simulator knows of one accepted message."""

    message_id: str
    sender: str
    recipient: str
    tags: Mapping[str, str]
    sent_at: datetime
    account_id: str
    region: str


def _mail(sent: SentMessage) -> dict[str, Any]:
    tags: dict[str, list[str]] = {
        "ses:configuration-set": [CONFIGURATION_SET],
        "ses:source-ip": ["127.0.0.1"],
        "ses:from-domain": [sent.sender.rpartition("@")[2]],
        "ses:caller-identity": ["changecast-ses"],
    }
    tags.update({name: [value] for name, value in sent.tags.items()})
    return {
        "timestamp": _stamp(sent.sent_at),
        "source": sent.sender,
        "sourceArn": f"arn:aws:ses:{sent.region}:{sent.account_id}:identity/{sent.sender}",
        "sendingAccountId": sent.account_id,
        "messageId": sent.message_id,
        "destination": [sent.recipient],
        "headersTruncated": False,
        "tags": tags,
    }


def _stamp(moment: datetime) -> str:
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def _delivery(sent: SentMessage, at: datetime) -> dict[str, Any]:
    return {
        "timestamp": _stamp(at),
        "processingTimeMillis": int((at - sent.sent_at).total_seconds() * 1000),
        "recipients": [sent.recipient],
        "smtpResponse": "250 2.6.0 Message received",
        "reportingMTA": "a8-70.smtp-out.amazonses.com",
    }


def _bounce(sent: SentMessage, at: datetime, subtype: str) -> dict[str, Any]:
    diagnostic = (
        "Amazon SES did not send the message to this address because it is on the suppression "
        "list for your account."
        if subtype == "OnSuppressionList"
        else "smtp; 550 5.1.1 user unknown"
    )
    return {
        "bounceType": "Permanent",
        "bounceSubType": subtype,
        "bouncedRecipients": [
            {
                "emailAddress": sent.recipient,
                "action": "failed",
                "status": "5.1.1",
                "diagnosticCode": diagnostic,
            }
        ],
        "timestamp": _stamp(at),
        "feedbackId": f"{sent.message_id}-bounce",
        "reportingMTA": "dsn; a8-70.smtp-out.amazonses.com",
    }


def _complaint(sent: SentMessage, at: datetime) -> dict[str, Any]:
    return {
        "complainedRecipients": [{"emailAddress": sent.recipient}],
        "timestamp": _stamp(at),
        "feedbackId": f"{sent.message_id}-complaint",
        "userAgent": "Amazon SES Mailbox Simulator",
        "complaintFeedbackType": "abuse",
        "arrivalDate": _stamp(at),
    }


def simulated_events(sent: SentMessage) -> list[dict[str, Any]]:
    """The SES event records (``eventType`` format) SES would publish for ``sent``."""
    mail = _mail(sent)
    step = timedelta(milliseconds=400)
    first, second = sent.sent_at + step, sent.sent_at + 2 * step
    records: list[dict[str, Any]] = [{"eventType": "Send", "mail": mail, "send": {}}]
    local = sent.recipient.lower()
    if local == f"bounce@{SIMULATOR_DOMAIN}":
        records.append(
            {"eventType": "Bounce", "mail": mail, "bounce": _bounce(sent, first, "General")}
        )
    elif local == f"suppressionlist@{SIMULATOR_DOMAIN}":
        bounce = _bounce(sent, first, "OnSuppressionList")
        records.append({"eventType": "Bounce", "mail": mail, "bounce": bounce})
    else:
        records.append({"eventType": "Delivery", "mail": mail, "delivery": _delivery(sent, first)})
        if local == f"complaint@{SIMULATOR_DOMAIN}":
            complaint = _complaint(sent, second)
            records.append({"eventType": "Complaint", "mail": mail, "complaint": complaint})
    return records


def sns_notification(topic_arn: str, message: str, *, sns_message_id: str | None = None) -> str:
    """The SQS body SNS delivers for ``message`` published on ``topic_arn``.

    The subscription keeps SNS's envelope (no raw message delivery, on AWS as in ``local up``):
    its ``TopicArn`` is how the events worker knows which customer account published the event.
    For tests and benchmarks that feed the events worker without SNS; ``SesSimulator`` itself
    publishes through SNS, which wraps the message the same way.
    """
    ident = sns_message_id or str(uuid.uuid5(uuid.NAMESPACE_URL, topic_arn + "\n" + message))
    return json.dumps(
        {
            "Type": "Notification",
            "MessageId": ident,
            "TopicArn": topic_arn,
            "Message": message,
            "Timestamp": _stamp(datetime.now(UTC)),
            "SignatureVersion": "1",
            "Signature": "",
            "SigningCertURL": "",
            "UnsubscribeURL": "",
        }
    )


Publish = Callable[[str, str], object]
"""(topic ARN, message) -> anything: SNS Publish."""


@dataclass
class SesSimulator:
    """Publishes the events of each sent message after ``delay`` seconds, from one thread."""

    publish: Publish
    journal: Path | None = None
    """Where every published event is appended (``JOURNAL``); None: nowhere."""
    delay: float = DELAY_SECONDS
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    _pending: list[tuple[float, int, str, str]] = field(default_factory=list)
    _order: itertools.count[int] = field(default_factory=itertools.count)
    _wake: threading.Condition = field(default_factory=threading.Condition)
    _stopping: bool = False
    _thread: threading.Thread | None = None
    _journal_lock: threading.Lock = field(default_factory=threading.Lock)
    published: int = 0

    def sent(self, message: SentMessage, topic_arn: str) -> None:
        """Schedule the events of one accepted message."""
        due = time.monotonic() + self.delay
        with self._wake:
            for record in simulated_events(message):
                entry = (due, next(self._order), topic_arn, json.dumps(record))
                heapq.heappush(self._pending, entry)
            self._wake.notify()

    def flush(self) -> int:
        """Publish every scheduled event now, in this thread (tests); returns how many."""
        with self._wake:
            pending = sorted(self._pending)
            self._pending.clear()
        for _, _, topic_arn, message in pending:
            self._publish(topic_arn, message)
        return len(pending)

    def _publish(self, topic_arn: str, message: str) -> None:
        self.publish(topic_arn, message)
        self.published += 1
        if self.journal is not None:
            line = json.dumps({"topicArn": topic_arn, "message": message}) + "\n"
            with self._journal_lock, self.journal.open("a", encoding="utf-8") as out:
                out.write(line)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="ses-simulator", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._stopping and (
                    not self._pending or self._pending[0][0] > time.monotonic()
                ):
                    wait = self._pending[0][0] - time.monotonic() if self._pending else None
                    self._wake.wait(timeout=wait)
                if self._stopping:
                    return
                _, _, topic_arn, message = heapq.heappop(self._pending)
            try:
                self._publish(topic_arn, message)
            except ChangecastError as exc:  # the simulator must not stop: log and go on
                log.warning("ses_simulator_publish_failed", topic=topic_arn, error=exc.message)


@dataclass
class SimulatedMail:
    """A customer's real (moto) ``MailPort`` whose every accepted message produces SES events."""

    inner: MailPort
    simulator: SesSimulator
    topic_arn: str
    account_id: str
    region: str
    rate: float | None = None
    """The max send rate this account reports (None: what moto says)."""

    def _sent(self, message_id: str, sender: str, to: str, tags: Mapping[str, str] | None) -> str:
        message = SentMessage(
            message_id=message_id,
            sender=sender,
            recipient=to,
            tags=dict(tags or {}),
            sent_at=self.simulator.clock(),
            account_id=self.account_id,
            region=self.region,
        )
        self.simulator.sent(message, self.topic_arn)
        return message_id

    def send_email(
        self,
        *,
        sender: str,
        to: str,
        subject: str,
        html: str,
        text: str,
        list_name: str,
        topic: str,
        tags: Mapping[str, str] | None = None,
    ) -> str:
        message_id = self.inner.send_email(
            sender=sender,
            to=to,
            subject=subject,
            html=html,
            text=text,
            list_name=list_name,
            topic=topic,
            tags=tags,
        )
        return self._sent(message_id, sender, to, tags)

    def send_raw(
        self,
        *,
        sender: str,
        to: str,
        raw: bytes,
        list_name: str,
        topic: str,
        tags: Mapping[str, str] | None = None,
    ) -> str:
        message_id = self.inner.send_raw(
            sender=sender, to=to, raw=raw, list_name=list_name, topic=topic, tags=tags
        )
        return self._sent(message_id, sender, to, tags)

    def max_send_rate(self) -> float | None:
        """The embedded SES's rate (config.json ``local_ses``), not moto's."""
        return self.rate if self.rate is not None else self.inner.max_send_rate()


@dataclass
class SimulatedSes:
    """An ``SesAccount`` whose mail goes through ``SimulatedMail``."""

    inner: SesAccount
    simulator: SesSimulator
    topic_arn: str
    account_id: str
    region: str
    rate: float | None = None
    """The max send rate this account reports (None: what moto says)."""

    def mail(self) -> SimulatedMail:
        return SimulatedMail(
            self.inner.mail(),
            self.simulator,
            self.topic_arn,
            self.account_id,
            self.region,
            self.rate,
        )

    def contacts(self) -> ContactSource:
        return self.inner.contacts()

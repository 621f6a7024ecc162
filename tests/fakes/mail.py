"""An in-memory MailPort (one customer's SES sending) that can throttle, reject and crash."""

from __future__ import annotations

import itertools
import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from changecast.customers.models import is_email
from changecast.delivery.ports import ContactSource, RecipientRejectedError
from changecast.errors import UpstreamError


@dataclass(frozen=True)
class SentMail:
    """One accepted message."""

    message_id: str
    kind: str  # "simple" or "raw"
    sender: str
    to: str
    subject: str
    html: str
    text: str
    raw: bytes
    list_name: str
    topic: str
    tags: tuple[tuple[str, str], ...] = ()


@dataclass
class FakeMail:
    """Accepts mail like SES: verified senders, valid addresses, one message per call.

    ``throttle_ratio`` throttles that share of calls (seeded, so runs repeat); ``reject`` lists
    addresses SES refuses; ``before_send`` runs before each accepted send (to crash mid-run).
    """

    verified: set[str] = field(default_factory=set)
    rate: float | None = None
    throttle_ratio: float = 0.0
    seed: int = 7
    reject: set[str] = field(default_factory=set)
    before_send: Callable[[str], None] | None = None
    sent: list[SentMail] = field(default_factory=list)
    calls: int = 0
    throttled: int = 0
    _ids: itertools.count[int] = field(default_factory=itertools.count)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def _check(self, sender: str, to: str) -> None:
        with self._lock:
            self.calls += 1
            if self._random.random() < self.throttle_ratio:
                self.throttled += 1
                raise UpstreamError(
                    "SendEmail failed: TooManyRequestsException: Maximum sending rate exceeded.",
                    retryable=True,
                    code="TooManyRequestsException",
                    throttled=True,
                )
        if self.verified and sender not in self.verified:
            raise UpstreamError(  # account-wide, as aws.errors.permanent_send_error maps it
                f"the sender {sender} is not verified in this SES account",
                retryable=False,
                permanent="sender_unverified",
                code="MessageRejected",
            )
        if not is_email(to) or to.lower() in self.reject:
            raise RecipientRejectedError(f"SendEmail was rejected: MessageRejected: {to}")
        if self.before_send is not None:
            self.before_send(to)

    def _accept(self, **fields: object) -> str:
        with self._lock:
            message_id = f"fake-{next(self._ids):06d}"
            self.sent.append(SentMail(message_id=message_id, **fields))  # type: ignore[arg-type]
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
        self._check(sender, to)
        return self._accept(
            tags=tuple((tags or {}).items()),
            kind="simple",
            sender=sender,
            to=to,
            subject=subject,
            html=html,
            text=text,
            raw=b"",
            list_name=list_name,
            topic=topic,
        )

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
        self._check(sender, to)
        return self._accept(
            tags=tuple((tags or {}).items()),
            kind="raw",
            sender=sender,
            to=to,
            subject="",
            html="",
            text="",
            raw=raw,
            list_name=list_name,
            topic=topic,
        )

    def max_send_rate(self) -> float | None:
        return self.rate

    def to(self, address: str, kind: str | None = None) -> list[SentMail]:
        return [m for m in self.sent if m.to == address and (kind is None or m.kind == kind)]


@dataclass
class FakeSesAccount:
    """A customer's SES for delivery: a mail port plus a contact source (``tests.fakes.ses``)."""

    mailer: FakeMail
    source: ContactSource

    def mail(self) -> FakeMail:
        return self.mailer

    def contacts(self) -> ContactSource:
        return self.source

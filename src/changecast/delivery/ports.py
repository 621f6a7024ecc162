"""The ports delivery needs: a customer's mail and contacts, the ledger, and its errors."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from changecast.contacts.models import Contact, ContactListInfo
from changecast.delivery.ledger import Claim, LedgerEntry, LedgerKey
from changecast.errors import InvalidInputError, UpstreamError


class RecipientRejectedError(InvalidInputError):
    """SES refused this one message (MessageRejected, a bad address); the others go on."""


class RecipientsBusyError(UpstreamError):
    """Another delivery of the same trigger holds some recipients; retry after their lease."""

    def __init__(self, message: str, *, retry_after: float, **context: object) -> None:
        super().__init__(message, retryable=True, retry_after=retry_after, **context)
        self.retry_after = retry_after


class MailPort(Protocol):
    """One customer account's SES: one message per call, always with list management."""

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
    ) -> str:
        """Send a simple (HTML + text) message; returns the SES message id.

        Raises ``RecipientRejectedError`` when SES refuses this message, and a retryable
        ``UpstreamError`` (``context["throttled"]``) when it throttles.
        """
        ...

    def send_raw(self, *, sender: str, to: str, raw: bytes, list_name: str, topic: str) -> str:
        """Send one raw MIME message (a calendar invite); same errors as ``send_email``."""
        ...

    def max_send_rate(self) -> float | None:
        """The account's maximum send rate per second, or None when SES cannot tell."""
        ...


class ContactSource(Protocol):
    """A customer's contact list (``changecast.aws.ses.SesContactListAdapter`` is one)."""

    def get_contact_list(self, name: str) -> ContactListInfo: ...

    def list_contacts(self, list_name: str, *, topic: str | None = None) -> list[Contact]:
        """Every page; with ``topic``, only the contacts SES would mail for it."""
        ...


class SesAccount(Protocol):
    """Opens a customer's SES (assuming its role; credentials are cached by the adapter)."""

    def mail(self) -> MailPort: ...

    def contacts(self) -> ContactSource: ...


class Ledger(Protocol):
    """Per-recipient delivery state with conditional writes (exactly once, bar one crash)."""

    def claim(
        self, key: LedgerKey, *, topic: str, owner: str, now: datetime, lease: timedelta
    ) -> Claim:
        """Claim ``key`` unless it is sent, or claimed by another owner whose lease is live."""
        ...

    def mark_sent(self, key: LedgerKey, *, message_id: str, now: datetime) -> None: ...

    def mark_failed(self, key: LedgerKey, *, reason: str, now: datetime) -> None:
        """Record a permanent failure; the recipient may be claimed again by a later run."""
        ...

    def release(self, key: LedgerKey, *, now: datetime) -> None:
        """Give a claim back after a transient failure, so a retry can claim it at once."""
        ...

    def entries(self, partition: str) -> list[LedgerEntry]:
        """Every item of one delivery (customer, change, version, event)."""
        ...

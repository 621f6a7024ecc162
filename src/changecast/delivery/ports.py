"""The ports delivery needs: a customer's mail and contacts, the ledger, the read model, errors."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from changecast.contacts.models import Contact, ContactListInfo
from changecast.customers.models import CustomerMapping
from changecast.delivery.ledger import Claim, LedgerEntry, LedgerKey
from changecast.delivery.models import CustomerRates, DeliveryRecord, ExecutionRecord
from changecast.delivery.outcomes import OutcomeMark, RecipientMark
from changecast.delivery.preflight import AccountFacts
from changecast.delivery.suppression import SuppressionRecord
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
        tags: Mapping[str, str] | None = None,
    ) -> str:
        """Send a simple (HTML + text) message; returns the SES message id.

        ``tags`` become SES message tags (``EmailTags``), which SES puts on every event.

        Raises ``RecipientRejectedError`` when SES refuses this message, and a retryable
        ``UpstreamError`` (``context["throttled"]``) when it throttles.
        """
        ...

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

    def iter_contacts(self, list_name: str, *, topic: str | None = None) -> Iterator[Contact]:
        """As ``list_contacts``, page by page as the caller reads: a large list is never held.

        An unknown ``topic`` raises at the call; a page's error when that page is read.
        """
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

    def entries_for(self, change_id: str, customer_code: str) -> list[LedgerEntry]:
        """Every item of one customer's deliveries of a change (all versions and events)."""
        ...

    def mark_suppressed(self, key: LedgerKey, *, topic: str, reason: str, now: datetime) -> None:
        """Record a recipient skipped because it is suppressed (never over a sent one)."""
        ...


class OutcomeLedger(Protocol):
    """What the SES events worker needs of the ledger: find a message's entry, add outcomes.

    Outcomes are append-only marks: writing one never needs a condition, and an entry read
    afterwards (``Ledger.entries``, ``entries_for``, ``get``) carries the greatest of its own
    mark and every mark written for its message (``outcomes.merge``), in any order of writing.
    """

    def find_by_message_id(self, message_id: str) -> LedgerEntry | None:
        """The sent entry with this SES message id, or None (not ours, or not recorded yet)."""
        ...

    def get(self, key: LedgerKey) -> LedgerEntry | None:
        """One entry by its key (a consistent read, its marks folded in), or None."""
        ...

    def sent_message_ids(self, keys: Sequence[LedgerKey]) -> dict[LedgerKey, str]:
        """Each key's SES message id (consistent reads); a key never sent is absent."""
        ...

    def record_outcomes(self, marks: Sequence[tuple[LedgerKey, str, OutcomeMark]]) -> None:
        """Add each (key, message id, mark); idempotent: the same mark twice is one mark.

        A mark for another message id than the entry's is kept but never shown. Raises a
        retryable ``UpstreamError`` when some could not be written (a replay is harmless).
        """
        ...


class SuppressionStore(Protocol):
    """Our record of each customer's suppressed addresses (the send path skips them)."""

    def suppress(self, record: SuppressionRecord) -> None:
        """Add or refresh the address (idempotent)."""
        ...

    def unsuppress(self, customer: str, email: str) -> bool:
        """Remove the address; False when it was not suppressed."""
        ...

    def suppressed(self, customer: str) -> list[SuppressionRecord]:
        """Every suppressed address of ``customer``."""
        ...


class DeliveryReadModel(Protocol):
    """Per-customer delivery state, one row per (change, version, event, customer), in the index.

    Written by the workers (every saved ExecutionRecord, dead letters included) and by the SES
    events worker (each recipient's kept mark, and the counts from them); the grid, the change
    view and the deliveries API read only this. Derived: ``changecast index rebuild`` loads it
    again from ``executions/`` in S3.
    Every write is idempotent.
    """

    def record_execution(self, record: ExecutionRecord) -> None:
        """Store (or replace) a run's result; outcome counts already set are kept."""
        ...

    def record_outcomes(self, marks: Sequence[RecipientMark]) -> list[bool]:
        """Keep each recipient's greatest mark and recount every delivery the marks touch.

        One transaction. ``delivered``, ``bounced`` and ``complained`` of a touched delivery
        become the number of its recipients whose kept mark has that outcome; a delivery's row
        is created (``status`` None) when the worker has not recorded it yet. Returns, per
        mark, whether it became its recipient's kept mark (a replay or an outranked mark:
        False). Idempotent and order-free, so a replayed batch changes nothing.
        """
        ...

    def recount_outcomes(self) -> int:
        """Recount every row from the kept marks (after a rebuild); returns the rows counted."""
        ...

    def for_change(self, change_id: str) -> list[DeliveryRecord]:
        """Every row of a change, by version, customer and event."""
        ...

    def rates(self, *, since: datetime, customers: frozenset[str] | None) -> list[CustomerRates]:
        """Per customer (``customers``: only those; None: all), sums over rows updated since."""
        ...

    def clear(self) -> None:
        """Delete every row (the first step of a rebuild); the kept marks stay.

        The marks come from the SES events worker (the ledger keeps them too); a rebuild
        reloads the rows from S3 and then ``recount_outcomes``.
        """
        ...


class SesAccountProbe(Protocol):
    """One customer account's SES, read only: the facts preflight checks."""

    def account_facts(self, *, senders: Sequence[str], domain: str) -> AccountFacts:
        """Never raises for one fact SES will not give: it is None, the reason in ``unknown``."""
        ...

    def unverified(self, addresses: Sequence[str]) -> tuple[str, ...]:
        """Those of ``addresses`` verified neither as an address nor by their domain."""
        ...


class PreflightAccess(Protocol):
    """Opens a customer's SES for preflight (its admin role); raises if it cannot be reached."""

    def probe(self, customer: CustomerMapping) -> SesAccountProbe: ...

    def contacts(self, customer: CustomerMapping) -> ContactSource: ...

"""Suppression: a hard bounce or a complaint stops us mailing an address until someone removes it.

Our own record (in the ledger table) is what the send path checks, in every mode: moto has no
SES suppression list, and an account's list may be off or unreachable. The events worker also
puts the address on the customer's account-level SES list and records whether that worked.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from changecast.contacts.models import SuppressionReason


@dataclass(frozen=True)
class SuppressionRecord:
    """One suppressed address of one customer, with what caused it."""

    customer: str
    email: str
    reason: SuppressionReason
    at: datetime
    detail: str = ""
    """The event that caused it (bounce type/subtype, feedback type) and the SES list's answer."""
    message_id: str | None = None

    @property
    def folded(self) -> str:
        return self.email.strip().lower()


def suppressed_set(records: Iterable[SuppressionRecord]) -> frozenset[str]:
    """The addresses to skip, case-folded."""
    return frozenset(record.folded for record in records)

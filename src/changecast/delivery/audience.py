"""Who gets a message: a topic's subscribers; off production, only the restricted recipients."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from changecast.contacts.models import Contact
from changecast.customers.models import CustomerMapping


@dataclass(frozen=True)
class Audience:
    """The addresses to send to (unique, in list order) and how many subscribers were dropped."""

    recipients: tuple[str, ...]
    filtered: int


def audience(subscribers: Sequence[Contact], customer: CustomerMapping) -> Audience:
    """A non-production customer mails only its ``restricted_recipients`` (case-insensitive)."""
    allowed = None if customer.is_production else set(customer.restricted_recipients)
    seen: set[str] = set()
    chosen: list[str] = []
    filtered = 0
    for contact in subscribers:
        folded = contact.email.lower()
        if folded in seen:
            continue
        seen.add(folded)
        if allowed is not None and folded not in allowed:
            filtered += 1
            continue
        chosen.append(contact.email)
    return Audience(recipients=tuple(chosen), filtered=filtered)

"""Who gets a message: a topic's subscribers; off production, only the restricted recipients."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from changecast.changes.models import Action, Change
from changecast.contacts.models import Contact
from changecast.customers.models import CustomerMapping, is_email

_EDITS = frozenset({Action.CREATE, Action.EDIT})


@dataclass(frozen=True)
class Audience:
    """The addresses to send to (unique, in list order) and how many subscribers were dropped."""

    recipients: tuple[str, ...]
    filtered: int


def audience(subscribers: Iterable[Contact], customer: CustomerMapping) -> Audience:
    """A non-production customer mails only its ``restricted_recipients`` (case-insensitive).

    ``subscribers`` is read once, so it may be a stream of pages: only the addresses are kept.
    """
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


def authors(change: Change) -> tuple[str, ...]:
    """The change's creator and the last person who edited it (the same person once)."""
    editors = [entry.by for entry in change.history if entry.action in _EDITS]
    last = editors[-1] if editors else change.modified_by
    return tuple(dict.fromkeys(a.strip().lower() for a in (change.created_by, last)))


def authors_audience(change: Change, customer: CustomerMapping) -> Audience:
    """A nudge's recipients: the authors, under the same restricted-recipient rule.

    An author recorded without a usable address (a script's actor name) is counted as filtered.
    """
    addresses = [address for address in authors(change) if is_email(address)]
    found = audience([Contact(email=address) for address in addresses], customer)
    unusable = len(authors(change)) - len(addresses)
    return Audience(recipients=found.recipients, filtered=found.filtered + unusable)


def without_suppressed(
    found: Audience, suppressed: frozenset[str]
) -> tuple[Audience, tuple[str, ...]]:
    """``found`` minus the suppressed addresses (case-folded), which count as filtered."""
    if not suppressed:
        return found, ()
    dropped = tuple(r for r in found.recipients if r.lower() in suppressed)
    kept = tuple(r for r in found.recipients if r.lower() not in suppressed)
    return Audience(recipients=kept, filtered=found.filtered + len(dropped)), dropped

"""How many contacts of a customer each topic reaches: the port the preview counts through."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from changecast.customers.models import CustomerMapping


@dataclass(frozen=True)
class TopicCount:
    """Recipients of one topic; ``error`` says why the count is unknown."""

    topic: str
    subscribed: int | None
    recipients: int | None
    error: str = ""


class RecipientCounter(Protocol):
    """Counts the contacts one customer's SES would mail for each topic."""

    def count(self, customer: CustomerMapping, topics: list[str]) -> list[TopicCount]: ...

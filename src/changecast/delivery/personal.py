"""Per-recipient parts of an email rendered once per trigger: placeholders filled at send time.

The approval request carries each recipient's own signed sign-off links. The renderer writes
placeholders (which autoescaping leaves untouched); the send loop asks a ``RecipientLinks``
for the recipient's values and substitutes them, so rendering stays once per trigger.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from changecast.changes.models import Change

APPROVE_PLACEHOLDER = "%%changecast-signoff-approve%%"
REJECT_PLACEHOLDER = "%%changecast-signoff-reject%%"
SURVEY_PLACEHOLDER = "%%changecast-survey%%"
PLACEHOLDERS = (APPROVE_PLACEHOLDER, REJECT_PLACEHOLDER, SURVEY_PLACEHOLDER)


class RecipientLinks(Protocol):
    """Makes one recipient's sign-off links (implemented by ``access.signoff``)."""

    def for_recipient(
        self, *, change: Change, customer_code: str, recipient: str
    ) -> Mapping[str, str]:
        """Placeholder → value (a URL) for this recipient."""
        ...


def personalize(text: str, values: Mapping[str, str]) -> str:
    """``text`` with every placeholder replaced by its value."""
    for placeholder, value in values.items():
        text = text.replace(placeholder, value)
    return text

"""Blackout windows: which of config.json's blackouts a change window touches, per customer."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from changecast.customers.models import AppConfig, Blackout


@dataclass(frozen=True)
class BlackoutHit:
    """One blackout a window touches; ``customer_code`` is None for a global blackout."""

    blackout: Blackout
    customer_code: str | None

    @property
    def scope(self) -> str:
        return "every customer" if self.customer_code is None else self.customer_code


def touches(blackout: Blackout, start: datetime, end: datetime) -> bool:
    """Whether ``[start, end]`` touches ``[blackout.start, blackout.end]`` (shared ends count).

    Compared as UTC instants: Python compares two times of one zone by their wall clocks, which
    a DST fold makes wrong.
    """
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    return start <= blackout.end.astimezone(UTC) and end >= blackout.start.astimezone(UTC)


def blackouts_touching(
    config: AppConfig, customers: Iterable[str], start: datetime, end: datetime
) -> list[BlackoutHit]:
    """Global blackouts first, then each named customer's own, in config.json order."""
    hits = [BlackoutHit(b, None) for b in config.blackouts if touches(b, start, end)]
    for code in customers:
        mapping = config.customer_mappings.get(code)
        if mapping is None:
            continue
        hits += [BlackoutHit(b, code) for b in mapping.blackouts if touches(b, start, end)]
    return hits

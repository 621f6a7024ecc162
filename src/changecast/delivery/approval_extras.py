"""What an approval request shows beyond the change: overlapping changes, overrides, sign-off.

The worker (and the preview) gather these before rendering; the renderer only displays them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from changecast.changes.models import Change, window_of
from changecast.changes.windows import WindowIndex
from changecast.delivery.personal import APPROVE_PLACEHOLDER, REJECT_PLACEHOLDER
from changecast.delivery.view import when
from changecast.distribution.models import DistributionEvent


@dataclass(frozen=True)
class OverlapLine:
    """Another submitted or approved change of the same customer whose window overlaps."""

    change_id: str
    title: str
    version: int
    status: str
    start_utc: datetime
    end_utc: datetime


@dataclass(frozen=True)
class OverrideLine:
    """A blocking gate finding someone overrode at submit, with their reason."""

    gate: str
    reason: str
    by: str = ""


@dataclass(frozen=True)
class ApprovalExtras:
    """The approval request's extra sections; empty by default (every other email)."""

    overlaps: Sequence[OverlapLine] = field(default_factory=tuple)
    overrides: Sequence[OverrideLine] = field(default_factory=tuple)
    signoff_links: bool = False
    """Whether the email carries per-recipient Approve/Reject links (placeholders until sent)."""

    def context(self, portal_base_url: str) -> dict[str, Any]:
        base = portal_base_url.rstrip("/")
        return {
            "overlaps": [
                {
                    "title": o.title,
                    "version": o.version,
                    "status": o.status,
                    "start_utc": when(o.start_utc),
                    "end_utc": when(o.end_utc),
                    "url": f"{base}/changes/{o.change_id}",
                }
                for o in self.overlaps
            ],
            "overrides": [{"gate": o.gate, "reason": o.reason, "by": o.by} for o in self.overrides],
            "signoff": (
                {"approve_url": APPROVE_PLACEHOLDER, "reject_url": REJECT_PLACEHOLDER}
                if self.signoff_links
                else None
            ),
        }


def overrides_of(change: Change) -> list[OverrideLine]:
    """The overrides recorded on the version (``Change.overrides``: gate, reason, by)."""
    found: Any = getattr(change, "overrides", None) or []
    lines = []
    for item in found:
        values = item if isinstance(item, dict) else vars(item)
        gate, reason = values.get("gate"), values.get("reason")
        if isinstance(gate, str) and isinstance(reason, str):
            lines.append(OverrideLine(gate=gate, reason=reason, by=str(values.get("by") or "")))
    return lines


def overlaps_of(change: Change, customer_code: str, windows: WindowIndex) -> list[OverlapLine]:
    """Submitted or approved changes of ``customer_code`` whose windows overlap ``change``'s."""
    window = window_of(change)
    if window is None:
        return []
    found = windows.overlapping(
        customers=[customer_code], start=window[0], end=window[1], exclude=change.change_id
    )
    return [
        OverlapLine(
            change_id=s.change_id,
            title=s.title,
            version=s.version,
            status=s.status.value,
            start_utc=s.start_utc,
            end_utc=s.end_utc,
        )
        for s in found
        if s.start_utc is not None and s.end_utc is not None
    ]


def approval_extras(
    change: Change,
    customer_code: str,
    event: DistributionEvent,
    *,
    windows: WindowIndex | None,
    signoff_links: bool,
) -> ApprovalExtras | None:
    """The extras of an approval request (None for every other event)."""
    if event is not DistributionEvent.SUBMITTED:
        return None
    return ApprovalExtras(
        overlaps=overlaps_of(change, customer_code, windows) if windows is not None else (),
        overrides=overrides_of(change),
        signoff_links=signoff_links,
    )

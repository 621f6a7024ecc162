"""The ``preflight`` gate: a customer whose SES account cannot send this action's emails blocks it.

One blocking finding per failing customer, naming every failed check; warnings (a fact SES would
not give) are not findings. Reports come from ``Preflight``'s cache (60 s for a pass, 5 s for a
failure), so the preview, which runs the gates on every load, asks SES at most that often.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from changecast.actions.gates import GateFinding
from changecast.changes.models import Action, Change
from changecast.customers.directory import CustomerDirectory
from changecast.delivery.preflight import PreflightReport
from changecast.delivery.preflight_service import Preflight
from changecast.delivery.router import Topics, route
from changecast.distribution.planner import events_for

GATE = "preflight"


def topics_for(change: Change, action: Action, topics: Topics) -> list[str]:
    """The contact-list topics ``action`` on ``change`` mails (the email's and the invite's)."""
    chosen: list[str] = []
    approved = change.was_approved()
    for event in events_for(action, current=change):
        notice = change.announcement
        planned = route(
            event,
            was_approved=approved,
            invite_sent=approved,
            topics=topics,
            announcement=None if notice is None else notice.announcement_kind,
            has_event=change.change_metadata.schedule is not None,
        )
        chosen.append(planned.topic)
        if planned.calendar is not None:
            chosen.append(planned.calendar_topic)
    return list(dict.fromkeys(chosen))


def finding_of(report: PreflightReport) -> GateFinding:
    reasons = "; ".join(check.reason for check in report.failed)
    return GateFinding(
        gate=GATE,
        message=f"{report.customer_code}: preflight failed: {reasons}",
        customer_code=report.customer_code,
    )


@dataclass(frozen=True)
class PreflightGate:
    """Checks every customer of the change through ``preflight`` (cached; see its TTL)."""

    preflight: Preflight
    directory: CustomerDirectory
    topics: Topics
    name: str = GATE

    def reports(self, change: Change, action: Action) -> list[PreflightReport]:
        """Every customer's report for the emails ``action`` sends (none: no reports)."""
        chosen = topics_for(change, action, self.topics)
        if not chosen:
            return []
        customers = [self.directory.get(code) for code in change.customer_codes]
        return self.preflight.check_all(customers, chosen)

    def check(self, change: Change, action: Action) -> Sequence[GateFinding]:
        return [finding_of(r) for r in self.reports(change, action) if not r.ok]

"""Pure routing: which template, SES topic and calendar method each distribution event gets."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from changecast.customers.models import SESConfig
from changecast.delivery.models import DistributionEvent


class CalendarMethod(StrEnum):
    """The iTIP method of a calendar invite."""

    REQUEST = "REQUEST"
    CANCEL = "CANCEL"


@dataclass(frozen=True)
class Topics:
    """The contact-list topic names for approvals, announcements and calendar invites."""

    approval: str = "aws-approval"
    announce: str = "aws-announce"
    calendar: str = "aws-calendar"

    @classmethod
    def from_ses_config(cls, config: SESConfig | None) -> Topics:
        """The names after SESConfig.json's prefix expansion (first prefix wins), else defaults."""
        if config is None:
            return cls()
        names = [topic.topic_name for topic in config.expanded_topics()]
        prefixes = [f"{prefix}-" for prefix in config.topic_group_prefix] + [""]
        chosen: dict[str, str] = {}
        for member in ("approval", "announce", "calendar"):
            for prefix in prefixes:
                if f"{prefix}{member}" in names:
                    chosen[member] = f"{prefix}{member}"
                    break
        return cls(**chosen)


@dataclass(frozen=True)
class Route:
    """What one event sends: an email from ``template`` to ``topic``, maybe an invite too."""

    event: DistributionEvent
    template: str
    topic: str
    calendar: CalendarMethod | None
    calendar_topic: str


_TEMPLATES = {
    DistributionEvent.SUBMITTED: "approval_request",
    DistributionEvent.APPROVED: "approved",
    DistributionEvent.UPDATED: "updated",
    DistributionEvent.WITHDRAWN: "withdrawn",
    DistributionEvent.COMPLETED: "completed",
    DistributionEvent.CANCELLED: "cancelled",
}


def route(
    event: DistributionEvent,
    *,
    was_approved: bool,
    invite_sent: bool,
    invite_changed: bool = True,
    topics: Topics | None = None,
) -> Route:
    """The route of ``event``, as in ARCHITECTURE.md's status/topic/message table.

    | event | template | topic | calendar |
    |---|---|---|---|
    | submitted | approval_request | approval | none |
    | approved | approved | announce | REQUEST to calendar subscribers |
    | updated | updated | announce | REQUEST, same UID, next SEQUENCE, if ``invite_changed`` |
    | withdrawn | withdrawn | announce | CANCEL if invited |
    | completed | completed | announce | none |
    | cancelled | cancelled | announce if ever approved, else approval | CANCEL if invited |

    submitted is also an edit of an approved change (approvers only; customers hear nothing
    yet); updated is the approval of a version that replaces an approved one, ``invite_changed``
    when its schedule or meeting differs; withdrawn is the rejection of such a version. A
    rejection of a never-approved change and a draft save produce no event at all.
    """
    names = topics or Topics()
    topic = names.announce
    calendar: CalendarMethod | None = None
    if event is DistributionEvent.SUBMITTED:
        topic = names.approval
    elif event is DistributionEvent.APPROVED:
        calendar = CalendarMethod.REQUEST
    elif event is DistributionEvent.UPDATED:
        calendar = CalendarMethod.REQUEST if invite_changed else None
    elif event is DistributionEvent.WITHDRAWN:
        calendar = CalendarMethod.CANCEL if invite_sent else None
    elif event is DistributionEvent.CANCELLED:
        topic = names.announce if was_approved else names.approval
        calendar = CalendarMethod.CANCEL if invite_sent else None
    return Route(
        event=event,
        template=_TEMPLATES[event],
        topic=topic,
        calendar=calendar,
        calendar_topic=names.calendar,
    )

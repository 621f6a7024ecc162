"""Pure routing: which template, SES topic and calendar method each distribution event gets."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from changecast.changes.models import AnnouncementKind
from changecast.customers.models import SESConfig
from changecast.distribution.models import DistributionEvent


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
    announce_approval: str = "announce-approval"
    """Approval requests of announcements (the reference tool's SESConfig.json names)."""
    cic: str = "cic-announce"
    finops: str = "finops-announce"
    inner: str = "inner-announce"
    general: str = "general-updates"

    @classmethod
    def from_ses_config(cls, config: SESConfig | None) -> Topics:
        """The names after SESConfig.json's prefix expansion (first prefix wins), else defaults.

        The announcement topics have fixed names (``cic-announce``, …, ``announce-approval``).
        """
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

    def announcement(self, kind: AnnouncementKind) -> str:
        """The topic a published announcement of ``kind`` goes to."""
        return {
            AnnouncementKind.CIC: self.cic,
            AnnouncementKind.FINOPS: self.finops,
            AnnouncementKind.INNER: self.inner,
            AnnouncementKind.GENERAL: self.general,
        }[kind]

    def announcement_topics(self) -> tuple[str, ...]:
        """Every announcement topic (approval requests first)."""
        return (self.announce_approval, self.cic, self.finops, self.inner, self.general)


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
    DistributionEvent.REMINDER: "reminder",
    DistributionEvent.WINDOW_OPEN: "window_open",
    DistributionEvent.WINDOW_CLOSED: "window_closed",
    DistributionEvent.NUDGE: "nudge",
    DistributionEvent.SURVEY: "survey",
}


def route(
    event: DistributionEvent,
    *,
    was_approved: bool,
    invite_sent: bool,
    invite_changed: bool = True,
    topics: Topics | None = None,
    announcement: AnnouncementKind | None = None,
    has_event: bool = True,
    completion: CalendarMethod | None = None,
) -> Route:
    """The route of ``event``, as in ARCHITECTURE.md's status/topic/message table.

    | event | template | topic | calendar |
    |---|---|---|---|
    | submitted | approval_request | approval | none |
    | approved | approved | announce | REQUEST to calendar subscribers |
    | updated | updated | announce | REQUEST, same UID, next SEQUENCE, if ``invite_changed`` |
    | withdrawn | withdrawn | announce | CANCEL if invited |
    | completed | completed | announce | ``completion`` if invited (ended early) |
    | cancelled | cancelled | announce if ever approved, else approval | CANCEL if invited |
    | reminder, window_open, window_closed | same name | announce | none |
    | nudge | nudge | announce (list management only: it goes to creator and editor) | none |
    | survey (after completed) | survey (each recipient's own link) | announce | none |

    submitted is also an edit of an approved change (approvers only; customers hear nothing
    yet); updated is the approval of a version that replaces an approved one, ``invite_changed``
    when its schedule or meeting differs; withdrawn is the rejection of such a version. A
    rejection of a never-approved change and a draft save produce no event at all.

    An ``announcement`` of a kind routes by that kind: its approval request (submitted) goes to
    ``announce-approval``, everything after it to the kind's topic (``finops-announce``, …), with
    the ``announcement_*`` templates; ``has_event`` (it has an event date) allows the invite.

    ``completion`` is what a completion before the invite's end does to it
    (``invite.completion_invite``): a REQUEST ending the event then, or a CANCEL.
    """
    if announcement is not None:
        return _announcement_route(
            event,
            announcement,
            topics or Topics(),
            was_approved=was_approved,
            invite_sent=invite_sent,
            invite_changed=invite_changed,
            has_event=has_event,
        )
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
    elif event is DistributionEvent.COMPLETED:
        calendar = completion if invite_sent else None
    return Route(
        event=event,
        template=_TEMPLATES[event],
        topic=topic,
        calendar=calendar,
        calendar_topic=names.calendar,
    )


_ANNOUNCEMENT_TEMPLATES = {
    DistributionEvent.SUBMITTED: "announcement_approval_request",
    DistributionEvent.WITHDRAWN: "announcement_withdrawn",
    DistributionEvent.CANCELLED: "announcement_withdrawn",
}
"""Announcement templates by event; every other event uses ``announcement``."""


def _announcement_route(
    event: DistributionEvent,
    kind: AnnouncementKind,
    names: Topics,
    *,
    was_approved: bool,
    invite_sent: bool,
    invite_changed: bool,
    has_event: bool,
) -> Route:
    topic = names.announcement(kind)
    approvers_only = event is DistributionEvent.CANCELLED and not was_approved
    if event is DistributionEvent.SUBMITTED or approvers_only:
        topic = names.announce_approval
    calendar: CalendarMethod | None = None
    if event is DistributionEvent.APPROVED or (
        event is DistributionEvent.UPDATED and invite_changed
    ):
        calendar = CalendarMethod.REQUEST if has_event else None
    elif event in {DistributionEvent.WITHDRAWN, DistributionEvent.CANCELLED} and invite_sent:
        calendar = CalendarMethod.CANCEL if has_event else None
    return Route(
        event=event,
        template=_ANNOUNCEMENT_TEMPLATES.get(event, "announcement"),
        topic=topic,
        calendar=calendar,
        calendar_topic=names.calendar,
    )

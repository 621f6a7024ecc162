"""The routing table and topic names from SESConfig.json."""

from __future__ import annotations

import pytest

from changecast.customers.models import SESConfig, TopicSpec
from changecast.delivery.router import CalendarMethod, Topics, route
from changecast.distribution.models import DistributionEvent
from changecast.local.demo import demo_ses_config


@pytest.mark.parametrize(
    ("event", "approved", "invited", "template", "topic", "calendar"),
    [
        (DistributionEvent.SUBMITTED, False, False, "approval_request", "aws-approval", None),
        (
            DistributionEvent.APPROVED,
            True,
            True,
            "approved",
            "aws-announce",
            CalendarMethod.REQUEST,
        ),
        (DistributionEvent.UPDATED, True, True, "updated", "aws-announce", CalendarMethod.REQUEST),
        (
            DistributionEvent.WITHDRAWN,
            True,
            True,
            "withdrawn",
            "aws-announce",
            CalendarMethod.CANCEL,
        ),
        (DistributionEvent.WITHDRAWN, True, False, "withdrawn", "aws-announce", None),
        (DistributionEvent.COMPLETED, True, True, "completed", "aws-announce", None),
        (
            DistributionEvent.CANCELLED,
            True,
            True,
            "cancelled",
            "aws-announce",
            CalendarMethod.CANCEL,
        ),
        (DistributionEvent.CANCELLED, True, False, "cancelled", "aws-announce", None),
        (DistributionEvent.CANCELLED, False, False, "cancelled", "aws-approval", None),
    ],
)
def test_each_event_routes_as_the_architecture_table_says(
    event: DistributionEvent,
    approved: bool,
    invited: bool,
    template: str,
    topic: str,
    calendar: CalendarMethod | None,
) -> None:
    chosen = route(event, was_approved=approved, invite_sent=invited)
    assert (chosen.template, chosen.topic, chosen.calendar, chosen.calendar_topic) == (
        template,
        topic,
        calendar,
        "aws-calendar",
    )


def test_an_update_sends_a_new_invite_only_when_schedule_or_meeting_changed() -> None:
    moved = route(DistributionEvent.UPDATED, was_approved=True, invite_sent=True)
    same = route(
        DistributionEvent.UPDATED, was_approved=True, invite_sent=True, invite_changed=False
    )
    assert (moved.topic, moved.calendar) == ("aws-announce", CalendarMethod.REQUEST)
    assert (same.topic, same.calendar) == ("aws-announce", None)


def test_topic_names_follow_the_ses_config_prefix() -> None:
    assert Topics.from_ses_config(demo_ses_config()) == Topics()
    members = demo_ses_config().topic_group_members
    custom = SESConfig(topic_group_prefix=("ccoe", "other"), topic_group_members=members)
    assert Topics.from_ses_config(custom) == Topics(
        "ccoe-approval", "ccoe-announce", "ccoe-calendar"
    )
    plain = SESConfig(
        topics=(TopicSpec(TopicName="approval", DisplayName="Approvals"),)  # type: ignore[call-arg]
    )
    assert Topics.from_ses_config(plain).approval == "approval"
    assert Topics.from_ses_config(plain).announce == "aws-announce"
    assert (
        route(
            DistributionEvent.SUBMITTED,
            was_approved=False,
            invite_sent=False,
            topics=Topics.from_ses_config(custom),
        ).topic
        == "ccoe-approval"
    )

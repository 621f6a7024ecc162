"""The topic diff: pure, idempotent, and it never touches a contact's preferences."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from changecast.contacts.models import Contact, ContactListInfo, ListTopic, TopicPreference
from changecast.contacts.service import apply_topic_sync, plan_topic_sync
from changecast.contacts.topics import (
    TopicAction,
    apply_topic_plan,
    desired_topics,
    is_subscribed,
    plan_topics,
)
from changecast.customers.models import SESConfig, TopicSpec
from tests.fakes.ses import FakeSes

NAMES = ["aws-calendar", "aws-announce", "aws-approval", "ops", "billing", "security"]
STATUSES = st.sampled_from(["OPT_IN", "OPT_OUT"])


@st.composite
def topic_sets(draw: st.DrawFn) -> tuple[ListTopic, ...]:
    names = draw(st.lists(st.sampled_from(NAMES), unique=True, max_size=len(NAMES)))
    return tuple(
        ListTopic(
            name=name,
            display_name=draw(st.sampled_from(["One", "Two"])),
            description=draw(st.sampled_from(["", "about it"])),
            default_status=draw(STATUSES),
        )
        for name in names
    )


@st.composite
def contact_sets(draw: st.DrawFn) -> list[Contact]:
    count = draw(st.integers(min_value=0, max_value=12))
    contacts = []
    for i in range(count):
        chosen = draw(st.lists(st.sampled_from(NAMES), unique=True, max_size=4))
        prefs = tuple(TopicPreference(topic=t, status=draw(STATUSES)) for t in chosen)
        contacts.append(
            Contact(
                email=f"c{i}@example.com", preferences=prefs, unsubscribe_all=draw(st.booleans())
            )
        )
    return contacts


@given(current=st.one_of(st.none(), topic_sets()), desired=topic_sets())
def test_applying_a_plan_then_replanning_finds_nothing(
    current: tuple[ListTopic, ...] | None, desired: tuple[ListTopic, ...]
) -> None:
    info = None if current is None else ContactListInfo(name="l", topics=current)
    plan = plan_topics("l", desired, info)
    after = apply_topic_plan(current or (), plan)
    again = plan_topics("l", desired, ContactListInfo(name="l", topics=after))
    assert not again.has_changes
    assert {t.name for t in after} == {t.name for t in desired}


@settings(max_examples=60)
@given(current=topic_sets(), desired=topic_sets(), contacts=contact_sets())
def test_apply_through_the_service_keeps_every_preference(
    current: tuple[ListTopic, ...], desired: tuple[ListTopic, ...], contacts: list[Contact]
) -> None:
    ses = FakeSes()
    ses.contacts["l"] = {c.email: c for c in contacts}
    ses.lists["l"] = ContactListInfo(name="l", description="d", topics=current)
    before = dict(ses.contacts["l"])
    plan, info = plan_topic_sync(ses=ses, list_name="l", desired=desired)
    again = apply_topic_sync(ses=ses, plan=plan, current=info)
    assert not again.has_changes
    assert ses.contacts["l"] == before
    assert ses.lists["l"].description == "d"
    contact_calls = {"CreateContact", "UpdateContact", "DeleteContact"}
    assert not [call for call in ses.calls if call.split()[0] in contact_calls]


def test_plan_lists_add_update_remove_and_unchanged() -> None:
    current = ContactListInfo(
        name="l",
        topics=(
            ListTopic(name="keep", display_name="Keep"),
            ListTopic(name="change", display_name="Old", default_status="OPT_OUT"),
            ListTopic(name="gone", display_name="Gone"),
        ),
    )
    desired = (
        ListTopic(name="keep", display_name="Keep"),
        ListTopic(name="change", display_name="New", default_status="OPT_IN"),
        ListTopic(name="new", display_name="New"),
    )
    plan = plan_topics("l", desired, current)
    actions = {c.name: c.action for c in plan.changes}
    assert actions == {
        "keep": TopicAction.UNCHANGED,
        "change": TopicAction.UPDATE,
        "new": TopicAction.ADD,
        "gone": TopicAction.REMOVE,
    }
    change = next(c for c in plan.changes if c.name == "change")
    assert change.fields == ("display_name", "default_status")
    assert not plan.create_list
    assert [t.name for t in apply_topic_plan(current.topics, plan)] == ["keep", "change", "new"]


def test_missing_list_is_planned_for_creation() -> None:
    plan = plan_topics("l", (ListTopic(name="a", display_name="A"),), None)
    assert plan.create_list
    assert plan.has_changes


def test_desired_topics_expand_prefix_groups() -> None:
    member = TopicSpec(
        topic_name="announce", display_name="Announce", default_subscription_status="OPT_IN"
    )
    config = SESConfig(topic_group_prefix=("aws", "gcp"), topic_group_members=(member,))
    assert [t.name for t in desired_topics(config)] == ["aws-announce", "gcp-announce"]
    assert desired_topics(config)[0].default_status == "OPT_IN"


def test_is_subscribed_follows_ses_rules() -> None:
    plain = Contact(email="a@example.com")
    opted_out = plain.with_preference("t", "OPT_OUT")
    opted_in = plain.with_preference("t", "OPT_IN")
    everything_off = opted_in.model_copy(update={"unsubscribe_all": True})
    assert is_subscribed(plain, "t", "OPT_IN")
    assert not is_subscribed(plain, "t", "OPT_OUT")
    assert not is_subscribed(opted_out, "t", "OPT_IN")
    assert is_subscribed(opted_in, "t", "OPT_OUT")
    assert not is_subscribed(everything_off, "t", "OPT_IN")

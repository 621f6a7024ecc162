"""Identity Center import: group names to roles, roles to topics, and the contact plan."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from changecast.contacts import service
from changecast.contacts.importer import (
    GroupPattern,
    GroupPatternError,
    ImportOptions,
    entitled_topics,
    plan_import,
    roles_by_user,
)
from changecast.contacts.models import (
    Contact,
    ContactAction,
    ContactListInfo,
    ContactPlan,
    IdentityGroup,
    IdentityUser,
    ListTopic,
)
from changecast.customers.models import TopicSpec
from tests.fakes.identity import FakeIdentityDirectory
from tests.fakes.ses import FakeSes

TOPICS = (
    TopicSpec(topic_name="aws-calendar", display_name="Cal", opt_in_roles=("ops",)),
    TopicSpec(topic_name="aws-announce", display_name="Ann", default_subscription_status="OPT_IN"),
    TopicSpec(topic_name="aws-approval", display_name="App", opt_in_roles=("approver",)),
)


def user(user_id: str, email: str | None = None) -> IdentityUser:
    return IdentityUser(user_id=user_id, user_name=user_id, email=email or f"{user_id}@example.com")


def test_default_pattern_maps_group_names_to_roles() -> None:
    pattern = GroupPattern.parse()
    assert pattern.role_for("ccoe-cloud-approver") == "approver"
    assert pattern.role_for("CCOE-Cloud-Ops") == "ops"
    assert pattern.role_for("ccoe-cloud-") is None
    assert pattern.role_for("other-approver") is None


def test_custom_pattern_with_suffix() -> None:
    pattern = GroupPattern.parse("team-{role}-aws")
    assert pattern.role_for("team-ops-aws") == "ops"
    assert pattern.role_for("team-ops") is None


@pytest.mark.parametrize("text", ["no-placeholder", "{role}-{role}"])
def test_pattern_needs_exactly_one_placeholder(text: str) -> None:
    with pytest.raises(GroupPatternError):
        GroupPattern.parse(text)


def test_roles_come_from_matching_groups_only() -> None:
    groups = [
        IdentityGroup(group_id="g1", name="ccoe-cloud-approver"),
        IdentityGroup(group_id="g2", name="ccoe-cloud-ops"),
        IdentityGroup(group_id="g3", name="finance"),
    ]
    members = {"g1": ["u1"], "g2": ["u1", "u2"], "g3": ["u3"]}
    roles = roles_by_user(groups, members, GroupPattern.parse())
    assert roles == {"u1": frozenset({"approver", "ops"}), "u2": frozenset({"ops"})}


def test_user_gets_opt_in_topics_plus_role_topics() -> None:
    assert entitled_topics(frozenset(), TOPICS) == ("aws-announce",)
    assert entitled_topics(frozenset({"approver"}), TOPICS) == ("aws-announce", "aws-approval")
    assert entitled_topics(frozenset({"Ops"}), TOPICS) == ("aws-calendar", "aws-announce")


def test_plan_marks_add_update_unchanged_skip_and_remove() -> None:
    users = [user("new"), user("old"), user("same"), user("nomail", "not-an-address")]
    roles = {"new": frozenset({"approver"}), "old": frozenset({"ops"})}
    existing = [
        Contact(email="old@example.com").with_preference("aws-announce", "OPT_OUT"),
        Contact(email="same@example.com").with_preference("aws-announce", "OPT_IN"),
        Contact(email="gone@example.com"),
    ]
    plan = plan_import(
        list_name="l",
        users=users,
        roles=roles,
        topics=TOPICS,
        existing=existing,
        options=ImportOptions(remove_missing=True),
    )
    by_email = {c.email: c for c in plan.changes}
    assert by_email["new@example.com"].action is ContactAction.ADD
    assert by_email["new@example.com"].after is not None
    assert by_email["new@example.com"].after.preference_map() == {
        "aws-announce": "OPT_IN",
        "aws-approval": "OPT_IN",
    }
    old = by_email["old@example.com"]
    assert old.action is ContactAction.UPDATE
    assert old.after is not None
    # the person's own OPT_OUT is kept; the ops topic is added
    assert old.after.preference_map() == {"aws-announce": "OPT_OUT", "aws-calendar": "OPT_IN"}
    assert by_email["same@example.com"].action is ContactAction.UNCHANGED
    assert by_email["gone@example.com"].action is ContactAction.REMOVE
    assert by_email["not-an-address"].action is ContactAction.SKIP


def test_without_remove_flag_gone_contacts_stay() -> None:
    plan = plan_import(
        list_name="l",
        users=[],
        roles={},
        topics=TOPICS,
        existing=[Contact(email="gone@example.com")],
    )
    assert plan.changes == ()


def test_revoke_drops_role_topics_from_users_without_the_role() -> None:
    was_approver = Contact(email="u@example.com").with_preference("aws-approval", "OPT_IN")
    plan = plan_import(
        list_name="l",
        users=[user("u")],
        roles={},
        topics=TOPICS,
        existing=[was_approver],
        options=ImportOptions(revoke=True),
    )
    (change,) = plan.changes
    assert change.action is ContactAction.UPDATE
    assert change.after is not None
    assert change.after.preference_map() == {"aws-announce": "OPT_IN"}


def test_only_with_role_ignores_users_outside_the_groups() -> None:
    plan = plan_import(
        list_name="l",
        users=[user("a"), user("b")],
        roles={"a": frozenset({"ops"})},
        topics=TOPICS,
        existing=[],
        options=ImportOptions(only_with_role=True),
    )
    assert [c.email for c in plan.changes] == ["a@example.com"]


def test_same_email_twice_merges_roles() -> None:
    users = [user("a", "x@example.com"), user("b", "X@example.com")]
    roles = {"a": frozenset({"ops"}), "b": frozenset({"approver"})}
    plan = plan_import(list_name="l", users=users, roles=roles, topics=TOPICS, existing=[])
    (change,) = plan.changes
    assert change.roles == ("approver", "ops")


def _fake_world(assignments: list[tuple[str, list[str]]]) -> tuple[FakeSes, FakeIdentityDirectory]:
    ses = FakeSes()
    topics = tuple(ListTopic(name=t.topic_name, display_name=t.display_name) for t in TOPICS)
    ses.create_contact_list(ContactListInfo(name="l", topics=topics))
    directory = FakeIdentityDirectory()
    for i, (email, groups) in enumerate(assignments):
        directory.add_user(f"u{i}", email, *groups)
    return ses, directory


EMAILS = st.sampled_from([f"p{i}@example.com" for i in range(6)])
GROUPS = st.lists(st.sampled_from(["ccoe-cloud-ops", "ccoe-cloud-approver", "other"]), unique=True)


@settings(max_examples=40)
@given(assignments=st.lists(st.tuples(EMAILS, GROUPS), max_size=8), remove=st.booleans())
def test_import_applied_then_replanned_is_all_unchanged(
    assignments: list[tuple[str, list[str]]], remove: bool
) -> None:
    ses, directory = _fake_world(assignments)
    ses.create_contact(ses.lists["l"].name, Contact(email="stray@example.com"))
    options = ImportOptions(remove_missing=remove)

    def plan() -> ContactPlan:
        return service.plan_identity_import(
            ses=ses,
            directory=directory,
            list_name="l",
            topics=TOPICS,
            pattern=GroupPattern.parse(),
            options=options,
        )

    first = plan()
    assert first == plan()  # planning has no side effects: a dry run equals the real plan
    service.apply_contact_plan(ses=ses, plan=first)
    assert plan().pending == ()
    for change in first.changes:
        if change.after is not None and change.action is not ContactAction.SKIP:
            assert ses.contacts["l"][change.after.email] == change.after

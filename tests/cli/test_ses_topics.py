"""``ses topics plan|apply|describe`` and ``ses list describe`` across customers, on moto."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from changecast.aws.ses import SesContactListAdapter
from changecast.contacts.models import Contact, TopicPreference
from tests.cli.ses_harness import World, deny_role, moto_world


@pytest.fixture
def world(aws_env: None, tmp_path: Path) -> Iterator[World]:
    yield from moto_world(tmp_path)


EXPECTED = {"aws-calendar", "aws-announce", "aws-approval"}


def test_plan_then_apply_creates_lists_and_second_apply_finds_nothing(world: World) -> None:
    planned = world.invoke("ses", "topics", "plan", "--all", "--output", "json")
    assert planned.code == 0, planned.stderr
    doc = planned.json()
    assert [c["customer"] for c in doc["customers"]] == ["acme", "globex", "initech"]
    plan = doc["customers"][0]["data"]["plan"]
    assert plan["createList"] is True
    assert {c["name"] for c in plan["changes"] if c["action"] == "add"} == EXPECTED

    applied = world.invoke("ses", "topics", "apply", "--all", "-o", "json")
    assert applied.code == 0, applied.stderr
    assert all(c["data"]["applied"] for c in applied.json()["customers"])

    again = world.invoke("ses", "topics", "apply", "--all", "-o", "json")
    assert again.code == 0
    for customer in again.json()["customers"]:
        assert customer["data"]["applied"] is False
        assert customer["detail"] == "in sync"


def test_apply_updates_in_place_and_removes_extra_topics(world: World) -> None:
    assert world.invoke("ses", "topics", "apply", "-c", "acme").code == 0
    sesv2 = world.session("acme").client("sesv2")
    listed = sesv2.get_contact_list(ContactListName="changecast")
    topics = list(listed["Topics"])
    for topic in topics:
        if topic["TopicName"] == "aws-announce":
            topic["DisplayName"] = "Old name"
    topics.append(
        {"TopicName": "legacy", "DisplayName": "Legacy", "DefaultSubscriptionStatus": "OPT_OUT"}
    )
    sesv2.update_contact_list(ContactListName="changecast", Topics=topics)

    planned = world.invoke("ses", "topics", "plan", "-c", "acme", "-o", "json").json()
    actions = {c["name"]: c["action"] for c in planned["customers"][0]["data"]["plan"]["changes"]}
    assert actions["aws-announce"] == "update"
    assert actions["legacy"] == "remove"
    assert actions["aws-approval"] == "unchanged"

    dry = world.invoke("ses", "topics", "apply", "-c", "acme", "--dry-run", "-o", "json").json()
    assert dry["customers"][0]["data"]["applied"] is False
    assert world.invoke("ses", "topics", "apply", "-c", "acme").code == 0
    names = {t["TopicName"] for t in sesv2.get_contact_list(ContactListName="changecast")["Topics"]}
    assert names == EXPECTED


def test_topics_apply_keeps_every_preference_of_1000_contacts(world: World) -> None:
    assert world.invoke("ses", "topics", "apply", "-c", "acme").code == 0
    ses = SesContactListAdapter(world.session("acme").client("sesv2"))
    statuses = ("OPT_IN", "OPT_OUT")
    for i in range(1000):
        prefs = tuple(
            TopicPreference(topic=t, status=statuses[(i >> n) % 2])
            for n, t in enumerate(sorted(EXPECTED))
            if (i + n) % 3
        )
        ses.create_contact(
            "changecast",
            Contact(email=f"p{i}@example.com", preferences=prefs, unsubscribe_all=i % 17 == 0),
        )
    before = {c.email: c for c in ses.list_contacts("changecast")}
    # make the list differ from SESConfig.json so apply must change it
    sesv2 = world.session("acme").client("sesv2")
    topics = sesv2.get_contact_list(ContactListName="changecast")["Topics"]
    for topic in topics:
        topic["Description"] = "stale"
    sesv2.update_contact_list(ContactListName="changecast", Topics=topics)

    result = world.invoke("ses", "topics", "apply", "-c", "acme", "-o", "json")
    assert result.code == 0
    assert result.json()["customers"][0]["data"]["applied"] is True
    after = {c.email: c for c in ses.list_contacts("changecast")}
    assert after == before


def test_denied_role_is_a_failed_row_and_others_succeed(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    deny_role(monkeypatch, world.role("globex"))
    result = world.invoke("ses", "topics", "plan", "--all", "-o", "json")
    assert result.code == 1
    rows = {c["customer"]: c for c in result.json()["customers"]}
    assert rows["acme"]["status"] == "ok"
    assert rows["initech"]["status"] == "ok"
    assert rows["globex"]["status"] == "failed"
    assert "AccessDenied" in rows["globex"]["detail"]
    assert "AssumeRole" in rows["globex"]["detail"]
    assert "1 of 3 customers failed: globex" in str(result.exception)


def test_text_output_has_one_block_per_customer_and_a_summary(world: World) -> None:
    result = world.invoke("ses", "topics", "plan", "--all", "--max-customer-concurrency", "2")
    assert result.code == 0
    out = result.stdout
    for code in ("acme", "globex", "initech"):
        assert out.count(f"{code} ({code.title()}) ok") == 1
    assert "wall time" in out
    assert out.index("wall time") > max(out.index(f"{c} ({c.title()})") for c in world.codes)


def test_describe_commands_show_topics_and_subscriber_counts(world: World) -> None:
    assert world.invoke("ses", "topics", "apply", "--all").code == 0
    ses = SesContactListAdapter(world.session("globex").client("sesv2"))
    ses.create_contact("changecast", Contact(email="a@example.com"))
    listed = world.invoke("ses", "list", "describe", "-c", "globex", "-o", "json").json()
    assert listed["customers"][0]["data"]["contacts"] == 1
    topics = world.invoke("ses", "topics", "describe", "-c", "acme", "-o", "json").json()
    names = {t["name"] for t in topics["customers"][0]["data"]["topics"]}
    assert names == EXPECTED
    text = world.invoke("ses", "list", "describe", "-c", "globex")
    assert "subscribed" in text.stdout


def test_missing_list_fails_only_that_customer(world: World) -> None:
    assert world.invoke("ses", "topics", "apply", "-c", "acme").code == 0
    result = world.invoke("ses", "topics", "describe", "-c", "acme", "-c", "globex", "-o", "json")
    assert result.code == 1
    rows = {c["customer"]: c["status"] for c in result.json()["customers"]}
    assert rows == {"acme": "ok", "globex": "failed"}


def test_usage_errors_exit_2(world: World) -> None:
    assert world.invoke("ses", "topics", "plan").code == 2
    assert world.invoke("ses", "topics", "plan", "-c", "nope").code == 2
    assert world.invoke("ses", "topics", "plan", "-c", "acme", "--all").code == 2
    (world.root / "SESConfig.json").write_text(json.dumps({"topics": [{"TopicName": "x"}]}))
    bad = world.invoke("ses", "topics", "plan", "--all")
    assert bad.code == 2
    assert "SESConfig.json" in str(bad.exception)

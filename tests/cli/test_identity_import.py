"""``identity import``: Identity Center (moto identitystore + sso-admin) to contacts, on moto."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from changecast.aws.identitystore import IdentityStoreAdapter, primary_email
from changecast.aws.ses import SesContactListAdapter
from changecast.contacts.models import Contact
from tests.cli.ses_harness import World, moto_world


@pytest.fixture
def world(aws_env: None, tmp_path: Path) -> Iterator[World]:
    yield from moto_world(tmp_path)


LIST = "changecast"


def seed_identity_center(world: World, code: str) -> tuple[Any, str]:
    """Users in ccoe-cloud-* groups: ann (approver), olaf (ops), nora (none), one with no email."""
    session = world.session(code, kind="identity")
    store_id = session.client("sso-admin").list_instances()["Instances"][0]["IdentityStoreId"]
    ids = session.client("identitystore")
    groups = {
        name: ids.create_group(IdentityStoreId=store_id, DisplayName=name)["GroupId"]
        for name in ("ccoe-cloud-approver", "ccoe-cloud-ops", "finance")
    }

    def user(name: str, group: str | None, email: str | None = None) -> str:
        extra: dict[str, Any] = {}
        if email != "":
            address = email or f"{name}@example.com"
            extra["Emails"] = [{"Value": address, "Type": "work", "Primary": True}]
        user_id = ids.create_user(
            IdentityStoreId=store_id,
            UserName=name,
            DisplayName=name.title(),
            Name={"GivenName": name, "FamilyName": "Test"},
            **extra,
        )["UserId"]
        if group:
            ids.create_group_membership(
                IdentityStoreId=store_id, GroupId=groups[group], MemberId={"UserId": user_id}
            )
        return str(user_id)

    user("ann", "ccoe-cloud-approver")
    user("olaf", "ccoe-cloud-ops")
    user("nora", "finance")
    user("ghost", None, email="")
    return ids, store_id


@pytest.fixture
def ready(world: World) -> World:
    assert world.invoke("ses", "topics", "apply", "--all").code == 0
    return world


def contacts(world: World, code: str) -> dict[str, Contact]:
    ses = SesContactListAdapter(world.session(code).client("sesv2"))
    return {c.email: c for c in ses.list_contacts(LIST)}


def test_dry_run_then_import_give_the_same_plan_and_result(ready: World) -> None:
    seed_identity_center(ready, "acme")
    dry = ready.invoke("identity", "import", "-c", "acme", "--dry-run", "-o", "json")
    assert dry.code == 0, dry.stderr
    assert contacts(ready, "acme") == {}
    real = ready.invoke("identity", "import", "-c", "acme", "-o", "json")
    assert real.code == 0
    dry_plan = dry.json()["customers"][0]["data"]["plan"]
    real_plan = real.json()["customers"][0]["data"]["plan"]
    assert dry_plan == real_plan
    assert dry_plan["summary"]["add"] == 3
    assert dry_plan["summary"]["skip"] == 1

    found = contacts(ready, "acme")
    for change in real_plan["changes"]:
        if change["action"] == "add":
            after = change["after"]  # camelCase, as every CLI JSON answer
            assert found[change["email"]] == Contact(
                email=after["email"],
                preferences=after["preferences"],
                unsubscribe_all=after["unsubscribeAll"],
            )
    assert found["ann@example.com"].preference_map() == {
        "aws-announce": "OPT_IN",
        "aws-approval": "OPT_IN",
    }
    assert found["olaf@example.com"].preference_map() == {
        "aws-calendar": "OPT_IN",
        "aws-announce": "OPT_IN",
    }
    assert found["nora@example.com"].preference_map() == {"aws-announce": "OPT_IN"}

    again = ready.invoke("identity", "import", "-c", "acme", "-o", "json").json()
    summary = again["customers"][0]["data"]["plan"]["summary"]
    assert summary["unchanged"] == 3
    assert summary["add"] == summary["update"] == 0
    assert contacts(ready, "acme") == found


def test_existing_choices_are_kept_and_gone_users_removed_on_request(ready: World) -> None:
    seed_identity_center(ready, "acme")
    ses = SesContactListAdapter(ready.session("acme").client("sesv2"))
    ses.create_contact(
        LIST, Contact(email="ann@example.com").with_preference("aws-announce", "OPT_OUT")
    )
    ses.create_contact(LIST, Contact(email="left@example.com"))
    plain = ready.invoke("identity", "import", "-c", "acme", "-o", "json").json()
    by_email = {c["email"]: c for c in plain["customers"][0]["data"]["plan"]["changes"]}
    assert by_email["ann@example.com"]["action"] == "update"
    assert "left@example.com" not in by_email
    assert contacts(ready, "acme")["ann@example.com"].preference_map() == {
        "aws-announce": "OPT_OUT",
        "aws-approval": "OPT_IN",
    }

    pruned = ready.invoke("identity", "import", "-c", "acme", "--remove-missing")
    assert pruned.code == 0
    assert "left@example.com" not in contacts(ready, "acme")


def test_custom_group_pattern_and_explicit_store_id(ready: World) -> None:
    _, store_id = seed_identity_center(ready, "acme")
    result = ready.invoke(
        "identity", "import", "-c", "acme", "--group-pattern", "finance", "--dry-run"
    )
    assert result.code == 2  # the pattern needs a {role} placeholder
    ok = ready.invoke(
        "identity",
        "import",
        "-c",
        "acme",
        "--group-pattern",
        "fin{role}",
        "--identity-store-id",
        store_id,
        "--only-with-role",
        "-o",
        "json",
    )
    assert ok.code == 0, ok.stderr
    changes = ok.json()["customers"][0]["data"]["plan"]["changes"]
    assert [(c["email"], c["roles"]) for c in changes] == [("nora@example.com", ["ance"])]


def test_missing_list_or_role_fails_that_customer_only(world: World) -> None:
    assert world.invoke("ses", "topics", "apply", "-c", "acme").code == 0
    seed_identity_center(world, "acme")
    result = world.invoke("identity", "import", "-c", "acme", "-c", "globex", "-o", "json")
    assert result.code == 1
    rows = {c["customer"]: c for c in result.json()["customers"]}
    assert rows["acme"]["status"] == "ok"
    assert rows["globex"]["status"] == "failed"
    assert "changecast" in rows["globex"]["detail"]


def test_identity_adapter_reads_every_page(world: World) -> None:
    ids, store_id = seed_identity_center(world, "acme")
    adapter = IdentityStoreAdapter(ids, store_id)
    assert {u.user_name for u in adapter.list_users()} == {"ann", "olaf", "nora", "ghost"}
    groups = {g.name: g.group_id for g in adapter.list_groups()}
    assert len(adapter.list_member_ids(groups["ccoe-cloud-ops"])) == 1
    assert (
        primary_email({"Emails": [{"Value": "b@x.io"}, {"Value": "a@x.io", "Primary": True}]})
        == "a@x.io"
    )
    assert primary_email({"Emails": []}) is None

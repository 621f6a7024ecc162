"""``alt-contacts set|show|delete`` across an Organization (moto organizations and account)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pytest

from changecast.contacts import alternate
from changecast.contacts.account_setup import apply_alternate_changes, read_alternate_contacts
from changecast.contacts.alternate import AltAction, ContactFileError, parse_contact_file
from changecast.contacts.models import AlternateContact, AlternateContactType
from tests.cli.ses_harness import World, deny_role, moto_world
from tests.fakes.identity import FakeOrganization


@pytest.fixture
def world(aws_env: None, tmp_path: Path) -> Iterator[World]:
    yield from moto_world(tmp_path)


BILLING = {
    "name": "Bill Payer",
    "title": "Finance",
    "email": "billing@example.com",
    "phone": "+1 555 0100",
}
SECURITY = {
    "Name": "Sec Team",
    "Title": "CISO",
    "EmailAddress": "security@example.com",
    "PhoneNumber": "+1 555 0199",
}


def organization(world: World, code: str) -> tuple[str, list[str]]:
    """Create an Organization in the customer's account, with two member accounts."""
    orgs = world.session(code, kind="identity").client("organizations")
    master = orgs.create_organization(FeatureSet="ALL")["Organization"]["MasterAccountId"]
    for name in ("dev", "prod"):
        orgs.create_account(AccountName=name, Email=f"{name}@example.com")
    members = [a["Id"] for a in orgs.list_accounts()["Accounts"] if a["Id"] != master]
    return master, members


def contact_file(tmp: Path, **data: object) -> Path:
    path = tmp / "contacts.json"
    path.write_text(json.dumps(data))
    return path


def stored(
    world: World, code: str, account_id: str, kind: Literal["BILLING", "SECURITY"], master: str
) -> str | None:
    client = world.session(code, kind="identity").client("account")
    extra = {} if account_id == master else {"AccountId": account_id}
    try:
        answer = client.get_alternate_contact(AlternateContactType=kind, **extra)
    except client.exceptions.ResourceNotFoundException:
        return None
    return str(answer["AlternateContact"]["EmailAddress"])


def test_set_then_show_then_delete_across_accounts(world: World) -> None:
    master, members = organization(world, "acme")
    path = contact_file(world.root, billing=BILLING, security=SECURITY)
    dry = world.invoke(
        "alt-contacts", "set", "--contacts-file", str(path), "-c", "acme", "--dry-run", "-o", "json"
    )
    assert dry.code == 0, dry.stderr
    assert dry.json()["customers"][0]["detail"] == "dry run: 3 accounts; 6 set"
    assert stored(world, "acme", members[0], "BILLING", master) is None

    done = world.invoke("alt-contacts", "set", "--contacts-file", str(path), "-c", "acme")
    assert done.code == 0, done.stderr
    for account in [master, *members]:
        assert stored(world, "acme", account, "BILLING", master) == "billing@example.com"
        assert stored(world, "acme", account, "SECURITY", master) == "security@example.com"

    shown = world.invoke("alt-contacts", "show", "-c", "acme", "--type", "billing", "-o", "json")
    changes = shown.json()["customers"][0]["data"]["changes"]
    assert len(changes) == 3
    assert {c["before"]["email"] for c in changes} == {"billing@example.com"}

    deleted = world.invoke(
        "alt-contacts", "delete", "--type", "security", "-c", "acme", "--account", members[0]
    )
    assert deleted.code == 0
    assert stored(world, "acme", members[0], "SECURITY", master) is None
    assert stored(world, "acme", members[1], "SECURITY", master) == "security@example.com"


def test_existing_contacts_are_kept_unless_overwrite(world: World) -> None:
    master, members = organization(world, "acme")
    first = contact_file(world.root, billing=BILLING)
    assert (
        world.invoke("alt-contacts", "set", "--contacts-file", str(first), "-c", "acme").code == 0
    )
    other = contact_file(world.root, billing={**BILLING, "email": "new-billing@example.com"})
    kept = world.invoke(
        "alt-contacts", "set", "--contacts-file", str(other), "-c", "acme", "-o", "json"
    )
    assert kept.json()["customers"][0]["detail"] == "3 accounts; 3 keep-existing"
    assert stored(world, "acme", members[0], "BILLING", master) == "billing@example.com"
    replaced = world.invoke(
        "alt-contacts",
        "set",
        "--contacts-file",
        str(other),
        "-c",
        "acme",
        "--overwrite",
        "-o",
        "json",
    )
    assert replaced.json()["customers"][0]["detail"] == "3 accounts; 3 replace"
    assert stored(world, "acme", members[0], "BILLING", master) == "new-billing@example.com"


def test_a_denied_customer_fails_alone(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    organization(world, "acme")
    deny_role(monkeypatch, world.role("globex", kind="identity"))
    result = world.invoke("alt-contacts", "show", "--all", "-o", "json")
    assert result.code == 1
    rows = {c["customer"]: c for c in result.json()["customers"]}
    assert rows["acme"]["detail"] == "3 accounts; 9 show"
    assert rows["globex"]["status"] == "failed"
    assert "AccessDenied" in rows["globex"]["detail"]
    assert rows["initech"]["detail"] == "0 accounts; no accounts"  # moto: no Organization


@pytest.mark.parametrize(
    "text",
    [
        "{nope",
        "[]",
        "{}",
        json.dumps({"billing": {**BILLING, "email": "not-an-address"}}),
        json.dumps({"payroll": BILLING}),
        json.dumps({"billing": {"name": "x"}}),
        json.dumps({"billing": {**BILLING, "name": "Ana\r\nBcc: x"}}),
        json.dumps({"billing": {**BILLING, "title": "CFO\u202e"}}),
        json.dumps({"billing": {**BILLING, "name": "Ana\x00"}}),
        json.dumps({"billing": {**BILLING, "phone": "+1 555\n0100"}}),  # \s took line breaks
    ],
)
def test_bad_contact_files_are_usage_errors(world: World, text: str) -> None:
    path = world.root / "bad.json"
    path.write_text(text)
    with pytest.raises(ContactFileError):
        parse_contact_file(text, source="bad.json")
    assert world.invoke("alt-contacts", "set", "--contacts-file", str(path), "-c", "acme").code == 2


def test_usage_errors(world: World) -> None:
    path = contact_file(world.root, billing=BILLING)
    assert world.invoke("alt-contacts", "set", "--contacts-file", str(path)).code == 2
    assert (
        world.invoke(
            "alt-contacts", "set", "--contacts-file", str(path), "-c", "acme", "--type", "security"
        ).code
        == 2
    )
    assert world.invoke("alt-contacts", "show", "-c", "acme", "--account", "12").code == 2
    assert (
        world.invoke(
            "alt-contacts", "set", "--contacts-file", str(world.root / "none.json"), "-c", "acme"
        ).code
        == 2
    )


def test_plan_against_a_fake_organization() -> None:
    org = FakeOrganization("111111111111", "222222222222")
    wanted = parse_contact_file(json.dumps({"operations": BILLING}), source="f")
    kinds = [AlternateContactType.OPERATIONS]
    old = AlternateContact(
        contact_type=AlternateContactType.OPERATIONS,
        name="Old",
        title="T",
        email="old@example.com",
        phone="1",
    )
    org.put_alternate_contact("222222222222", old)
    state = read_alternate_contacts(port=org, kinds=kinds)
    changes = alternate.plan_set(state, wanted)
    assert [c.action for c in changes] == [AltAction.SET, AltAction.KEEP_EXISTING]
    assert apply_alternate_changes(port=org, changes=changes) == 1
    assert org.contacts[("222222222222", AlternateContactType.OPERATIONS)] == old
    deleting = alternate.plan_delete(read_alternate_contacts(port=org, kinds=kinds), kinds)
    assert [c.action for c in deleting] == [AltAction.DELETE, AltAction.DELETE]
    apply_alternate_changes(port=org, changes=deleting)
    assert org.contacts == {}

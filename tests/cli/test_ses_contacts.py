"""``ses contacts …``, ``ses suppression …`` and ``ses send-test`` across customers, on moto.

moto has no suppression list, so those commands run against an in-memory stand-in for the
four SESv2 suppression operations, registered at the botocore layer (tests/fakes).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from changecast.aws.ses import SesContactListAdapter
from changecast.contacts.models import Contact
from tests.cli.ses_harness import World, moto_world
from tests.fakes.botocore_double import suppression_double


@pytest.fixture
def world(aws_env: None, tmp_path: Path) -> Iterator[World]:
    yield from moto_world(tmp_path)


LIST = "changecast"


@pytest.fixture
def ready(world: World) -> World:
    assert world.invoke("ses", "topics", "apply", "--all").code == 0
    return world


def adapter(world: World, code: str) -> SesContactListAdapter:
    return SesContactListAdapter(world.session(code).client("sesv2"))


def test_add_show_subscribe_unsubscribe_remove(ready: World) -> None:
    added = ready.invoke(
        "ses",
        "contacts",
        "add",
        "a@example.com",
        "b@example.com",
        "--topic",
        "aws-approval",
        "--all",
        "-o",
        "json",
    )
    assert added.code == 0, added.stderr
    for code in ready.codes:
        contact = adapter(ready, code).get_contact(LIST, "a@example.com")
        assert contact.preference_map() == {"aws-approval": "OPT_IN"}

    again = ready.invoke("ses", "contacts", "add", "a@example.com", "-c", "acme", "-o", "json")
    assert again.json()["customers"][0]["detail"] == "1 unchanged"

    off = ready.invoke(
        "ses", "contacts", "unsubscribe", "a@example.com", "--topic", "aws-announce", "-c", "acme"
    )
    assert off.code == 0
    contact = adapter(ready, "acme").get_contact(LIST, "a@example.com")
    assert contact.preference_map() == {"aws-approval": "OPT_IN", "aws-announce": "OPT_OUT"}

    shown = ready.invoke("ses", "contacts", "show", "a@example.com", "-c", "acme", "-o", "json")
    assert shown.json()["customers"][0]["data"]["a@example.com"]["email"] == "a@example.com"
    text = ready.invoke(
        "ses", "contacts", "show", "a@example.com", "nobody@example.com", "-c", "acme"
    ).stdout
    assert "explicit OPT_OUT" in text
    assert "not on the list" in text

    dry = ready.invoke("ses", "contacts", "remove", "a@example.com", "-c", "acme", "--dry-run")
    assert dry.code == 0
    assert adapter(ready, "acme").find_contact(LIST, "a@example.com") is not None
    assert ready.invoke("ses", "contacts", "remove", "a@example.com", "-c", "acme").code == 0
    assert adapter(ready, "acme").find_contact(LIST, "a@example.com") is None
    assert adapter(ready, "globex").find_contact(LIST, "a@example.com") is not None


def test_subscribe_to_unknown_topic_fails_that_customer(ready: World) -> None:
    ready.invoke("ses", "contacts", "add", "a@example.com", "-c", "acme")
    result = ready.invoke(
        "ses",
        "contacts",
        "subscribe",
        "a@example.com",
        "--topic",
        "nope",
        "-c",
        "acme",
        "-o",
        "json",
    )
    assert result.code == 1
    assert "no topic 'nope'" in result.json()["customers"][0]["detail"]


def test_list_with_topic_filters_like_ses(ready: World) -> None:
    ses = adapter(ready, "acme")
    ses.create_contact(LIST, Contact(email="default@example.com"))
    ses.create_contact(
        LIST, Contact(email="out@example.com").with_preference("aws-announce", "OPT_OUT")
    )
    ses.create_contact(LIST, Contact(email="none@example.com", unsubscribe_all=True))
    ses.create_contact(
        LIST, Contact(email="app@example.com").with_preference("aws-approval", "OPT_IN")
    )

    def emails(*args: str) -> set[str]:
        doc = ready.invoke("ses", "contacts", "list", "-c", "acme", "-o", "json", *args).json()
        return {c["email"] for c in doc["customers"][0]["data"]["contacts"]}

    assert len(emails()) == 4
    assert emails("--topic", "aws-announce") == {"default@example.com", "app@example.com"}
    assert emails("--topic", "aws-approval") == {"app@example.com"}


def test_backup_then_restore_brings_preferences_back_exactly(ready: World) -> None:
    ses = adapter(ready, "acme")
    originals = [
        Contact(email="a@example.com").with_preference("aws-approval", "OPT_IN"),
        Contact(email="b@example.com").with_preference("aws-announce", "OPT_OUT"),
        Contact(email="c@example.com", unsubscribe_all=True),
    ]
    for contact in originals:
        ses.create_contact(LIST, contact)
    target = ready.root / "backups" / "{customer}.json"
    saved = ready.invoke("ses", "contacts", "backup", "--to", str(target), "--all")
    assert saved.code == 0, saved.stderr
    backup = json.loads((ready.root / "backups" / "acme.json").read_text())
    assert len(backup["contacts"]) == 3

    ses.update_contact(
        LIST, Contact(email="a@example.com").with_preference("aws-calendar", "OPT_IN")
    )
    ses.delete_contact(LIST, "b@example.com")
    ses.create_contact(LIST, Contact(email="extra@example.com"))

    dry = ready.invoke(
        "ses",
        "contacts",
        "restore",
        "--from",
        str(target),
        "-c",
        "acme",
        "--prune",
        "--dry-run",
        "-o",
        "json",
    )
    assert dry.json()["customers"][0]["detail"] == "dry run: 1 add, 1 update, 1 unchanged, 1 remove"
    done = ready.invoke(
        "ses", "contacts", "restore", "--from", str(target), "-c", "acme", "--prune"
    )
    assert done.code == 0
    after = {c.email: c for c in ses.list_contacts(LIST)}
    assert set(after) == {"a@example.com", "b@example.com", "c@example.com"}
    for contact in originals:
        assert after[contact.email].preference_map() == contact.preference_map()
        assert after[contact.email].unsubscribe_all == contact.unsubscribe_all


def test_backup_of_several_customers_needs_a_placeholder(ready: World) -> None:
    result = ready.invoke("ses", "contacts", "backup", "--to", str(ready.root / "b.json"), "--all")
    assert result.code == 2
    assert "{customer}" in str(result.exception)


def test_restore_rejects_a_bad_file_with_exit_2(ready: World) -> None:
    bad = ready.root / "bad.json"
    bad.write_text("{not json")
    assert ready.invoke("ses", "contacts", "restore", "--from", str(bad), "-c", "acme").code == 2
    assert (
        ready.invoke(
            "ses", "contacts", "restore", "--from", str(ready.root / "missing.json"), "-c", "acme"
        ).code
        == 2
    )


def test_bad_address_is_a_usage_error(ready: World) -> None:
    result = ready.invoke("ses", "contacts", "add", "not-an-address", "--all")
    assert result.code == 2


def test_suppression_add_list_remove(ready: World, monkeypatch: pytest.MonkeyPatch) -> None:
    double, store = suppression_double()
    double.install(monkeypatch)
    from changecast.aws.dynamodb import create_ledger_table  # our own list lives in the ledger

    create_ledger_table(boto3.client("dynamodb", region_name="us-east-1"), "changecast-ledger")
    added = ready.invoke(
        "ses",
        "suppression",
        "add",
        "x@example.com",
        "y@example.com",
        "z@example.com",
        "--reason",
        "bounce",
        "-c",
        "acme",
    )
    assert added.code == 0, added.stderr
    assert store == dict.fromkeys(("x@example.com", "y@example.com", "z@example.com"), "BOUNCE")
    listed = ready.invoke("ses", "suppression", "list", "-c", "acme", "-o", "json").json()
    assert len(listed["customers"][0]["data"]["suppressed"]) == 3  # two pages
    dry = ready.invoke("ses", "suppression", "remove", "x@example.com", "-c", "acme", "--dry-run")
    assert dry.code == 0
    assert "x@example.com" in store
    removed = ready.invoke(
        "ses", "suppression", "remove", "x@example.com", "q@example.com", "-c", "acme", "-o", "json"
    )
    assert removed.json()["customers"][0]["detail"] == "removed 1; 1 were not suppressed"
    assert "x@example.com" not in store


def test_send_test_goes_through_each_customer(ready: World) -> None:
    for code in ready.codes:
        ready.session(code).client("sesv2").create_email_identity(EmailIdentity="example.com")
    sent = ready.invoke(
        "ses",
        "send-test",
        "--topic",
        "aws-announce",
        "--to",
        "t@example.com",
        "--all",
        "-o",
        "json",
    )
    assert sent.code == 0, sent.stderr
    assert all(c["data"]["sent"] for c in sent.json()["customers"])
    dry = ready.invoke(
        "ses",
        "send-test",
        "--topic",
        "aws-announce",
        "--to",
        "t@example.com",
        "-c",
        "acme",
        "--dry-run",
        "-o",
        "json",
    )
    assert dry.json()["customers"][0]["data"]["sent"] is False

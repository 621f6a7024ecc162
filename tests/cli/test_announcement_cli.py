"""``changecast announcement new|submit|approve|list|show`` on moto: four eyes, camelCase JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from tests.builders import change_body
from tests.cli.ses_harness import World, moto_world, verify_sending_domain
from tests.cli.test_usage_errors import run_main


@pytest.fixture
def world(aws_env: None, tmp_path: Path) -> Iterator[World]:
    for made in moto_world(tmp_path):
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="changecast-test")
        verify_sending_domain(made)
        yield made


def as_actor(monkeypatch: pytest.MonkeyPatch, email: str) -> None:
    monkeypatch.setenv("CHANGECAST_ACTOR", email)


def new_announcement(world: World, tmp_path: Path, *extra: str) -> str:
    body = tmp_path / "body.md"
    body.write_text("Savings plans **renew** in April.\n\n<script>x()</script>\n")
    created = world.invoke(
        "announcement",
        "new",
        "--title",
        "Savings plan renewal",
        "--kind",
        "finops",
        "-c",
        world.codes[0],
        "-c",
        world.codes[1],
        "--summary",
        "Renewals are due.",
        "--body-file",
        str(body),
        "--link",
        "Guide=https://finops.example.com/guide",
        *extra,
        "-o",
        "json",
    )
    assert created.code == 0, created.exception
    document = created.json()
    assert document["kind"] == "announcement"
    assert document["announcement"]["announcementKind"] == "finops"
    assert document["announcement"]["links"] == [
        {"title": "Guide", "url": "https://finops.example.com/guide"}
    ]
    assert document["status"] == "draft"
    return str(document["changeId"])


def test_an_announcement_is_created_submitted_and_approved_by_someone_else(
    world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    as_actor(monkeypatch, "alice@ccoe.example.com")
    cid = new_announcement(world, tmp_path)
    submitted = world.invoke("announcement", "submit", cid, "-o", "json")
    assert submitted.code == 0, submitted.exception
    assert submitted.json()["change"]["status"] == "submitted"
    assert {r["event"] for r in submitted.json()["distribution"]["results"]} == {"submitted"}
    own = world.invoke("announcement", "approve", cid)
    assert own.code == 1 and "you created this change" in str(own.exception)
    as_actor(monkeypatch, "bob@ccoe.example.com")
    approved = world.invoke("announcement", "approve", cid, "-o", "json")
    assert approved.code == 0, approved.exception
    assert approved.json()["change"]["status"] == "approved"
    assert approved.json()["complete"] is True

    shown = world.invoke("announcement", "show", cid, "-o", "json")
    assert shown.code == 0 and shown.json()["changeId"] == cid
    text = world.invoke("announcement", "show", cid)
    assert "FinOps" in text.stdout and "Savings plans **renew**" in text.stdout

    listed = world.invoke("announcement", "list", "-o", "json")
    assert listed.code == 0
    items = listed.json()["items"]
    assert [(i["changeId"], i["kind"], i["announcementKind"]) for i in items] == [
        (cid, "announcement", "finops")
    ]
    found = world.invoke("announcement", "list", "--search", "savings", "-o", "json")
    assert [i["changeId"] for i in found.json()["items"]] == [cid]


def test_list_shows_no_changes_and_show_refuses_a_change(
    world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    as_actor(monkeypatch, "alice@ccoe.example.com")
    path = tmp_path / "change.json"
    path.write_text(json.dumps(change_body(title="Rotate the VPN keys")))
    change_id = world.invoke("change", "new", "--from-file", str(path), "-o", "json").json()[
        "changeId"
    ]
    listed = world.invoke("announcement", "list", "-o", "json")
    assert listed.json()["items"] == []
    refused = world.invoke("announcement", "show", change_id)
    assert refused.code == 2
    assert "is a change, not an announcement" in str(refused.exception)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--kind", "finops"), "give --title and --kind"),
        (("--title", "x", "--kind", "finops", "--link", "nourl"), "write it as TITLE=URL"),
        (
            ("--title", "x", "--kind", "finops", "--link", "Bad=javascript:alert(1)"),
            "does not validate",
        ),
        (("--title", "x", "--kind", "finops", "--event-start", "2030-04-02T15:00"), "together"),
    ],
)
def test_bad_options_are_usage_errors_with_one_clear_message(
    world: World, args: tuple[str, ...], message: str
) -> None:
    refused = world.invoke("announcement", "new", *args)
    assert refused.code == 2
    assert message in str(refused.exception)


def test_an_unknown_kind_is_a_usage_error_of_two_lines(world: World) -> None:
    ran = run_main(
        "--config", str(world.config_path), "announcement", "new", "--title", "x", "--kind", "ads"
    )
    assert ran.code == 2
    assert "'ads' is not one of 'cic', 'finops', 'inner', 'general'" in ran.stderr
    assert "Traceback" not in ran.stderr

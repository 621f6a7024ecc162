"""``change approve`` from the CLI keeps four eyes; ``users`` changes what tokens act with."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from tests.builders import change_body
from tests.cli.ses_harness import World, moto_world, verify_sending_domain


@pytest.fixture
def world(aws_env: None, tmp_path: Path) -> Iterator[World]:
    for made in moto_world(tmp_path):
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="changecast-test")
        verify_sending_domain(made)  # submit and approve pass the preflight gate
        yield made


def as_actor(monkeypatch: pytest.MonkeyPatch, email: str) -> None:
    monkeypatch.setenv("CHANGECAST_ACTOR", email)


def test_the_editor_of_version_2_cannot_approve_it_from_the_cli(
    world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    body = tmp_path / "change.json"
    body.write_text(json.dumps(change_body(title="Rotate the VPN keys")))
    as_actor(monkeypatch, "alice@ccoe.example.com")
    cid = world.invoke("change", "new", "--from-file", str(body), "-o", "json").json()["changeId"]
    assert world.invoke("change", "submit", cid, "-o", "json").code == 0
    own = world.invoke("change", "approve", cid)
    assert own.code == 1 and "you created this change" in str(own.exception)
    as_actor(monkeypatch, "bob@ccoe.example.com")
    assert world.invoke("change", "approve", cid, "-o", "json").code == 0
    edit = tmp_path / "edit.json"
    edit.write_text(json.dumps({"version": 1, **change_body(title="Rotate the VPN keys, v2")}))
    as_actor(monkeypatch, "carol@ccoe.example.com")
    assert world.invoke("change", "edit", cid, "--from-file", str(edit), "-o", "json").code == 0
    refused = world.invoke("change", "approve", cid)
    assert refused.code == 1
    assert "you edited version 2, so someone else must approve version 2" in str(refused.exception)
    assert world.invoke("change", "show", cid, "-o", "json").json()["status"] == "submitted"
    as_actor(monkeypatch, "bob@ccoe.example.com")
    approved = world.invoke("change", "approve", cid, "-o", "json")
    assert approved.code == 0 and approved.json()["change"]["status"] == "approved"


def test_users_set_role_and_remove_change_the_current_grant(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from changecast.access.models import Actor, Role
    from changecast.access.users import record_grant
    from changecast.bootstrap import build_runtime
    from changecast.settings import Settings

    as_actor(monkeypatch, "ops@ccoe.example.com")
    runtime = build_runtime(Settings(config=str(world.config_path), data_dir=world.root))
    person = Actor(email="erin@ccoe.example.com", role=Role.CHANGE_MANAGER)
    record_grant(runtime.users, person, at=runtime.clock.now())
    demoted = world.invoke(
        "users",
        "set-role",
        "Erin@ccoe.example.com",
        "--role",
        "CustomerManager",
        "--customer",
        "acme",
        "-o",
        "json",
    )
    assert demoted.code == 0, demoted.exception
    assert [(u["role"], u["customers"], u["updatedBy"]) for u in demoted.json()] == [
        ("CustomerManager", ["acme"], "ops@ccoe.example.com")
    ]
    wrong = world.invoke(
        "users", "set-role", "erin@ccoe.example.com", "--role", "ReadOnly", "--customer", "acme"
    )
    assert wrong.code == 2
    assert world.invoke("users", "remove", "nobody@ccoe.example.com").code == 1
    removed = world.invoke("users", "remove", "erin@ccoe.example.com", "-o", "json")
    assert removed.code == 0 and removed.json()[0]["disabledAt"] is not None
    listed = world.invoke("users", "list", "-o", "json").json()
    assert [(u["email"], u["disabledAt"] is not None) for u in listed] == [
        ("erin@ccoe.example.com", True)
    ]

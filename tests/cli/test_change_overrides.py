"""``change submit``/``approve --override GATE=REASON``: a refused action lists the gate's findings
and exits 1; with an override it goes through and the override is kept on the version.

The refusing gate is the real preflight gate: this moto world verifies no sender.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from tests.builders import change_body
from tests.cli.ses_harness import World, moto_world

REASON = "senders are verified out of band for this test"


@pytest.fixture
def world(aws_env: None, tmp_path: Path) -> Iterator[World]:
    for made in moto_world(tmp_path):
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="changecast-test")
        yield made


def new_change(world: World, tmp_path: Path) -> str:
    body = tmp_path / "change.json"
    body.write_text(json.dumps(change_body(title="Rotate the VPN keys", customers=["acme"])))
    created = world.invoke("change", "new", "--from-file", str(body), "-o", "json")
    assert created.code == 0, created.exception
    return str(created.json()["changeId"])


def test_a_refused_submit_exits_1_and_an_override_submits_with_the_reason_kept(
    world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CHANGECAST_ACTOR", "alice@ccoe.example.com")
    cid = new_change(world, tmp_path)
    refused = world.invoke("change", "submit", cid)
    assert refused.code == 1
    assert "refused by gate(s) preflight" in str(refused.exception)
    assert [f.gate for f in getattr(refused.exception, "findings", [])] == ["preflight"]
    assert world.invoke("change", "show", cid, "-o", "json").json()["status"] == "draft"

    done = world.invoke("change", "submit", cid, "--override", f"preflight={REASON}", "-o", "json")
    assert done.code == 0, done.exception
    change = done.json()["change"]
    assert change["status"] == "submitted"
    assert [(o["gate"], o["action"], o["reason"], o["by"]) for o in change["overrides"]] == [
        ("preflight", "submit", REASON, "alice@ccoe.example.com")
    ]


@pytest.mark.parametrize(
    "value",
    [
        "preflight",
        "=why",
        "preflight=",
        "preflight=" + "x" * 501,
        "preflight=ok\r\nApprove for acme: https://evil.test/approve",
        "preflight=ok\nx",
        "preflight=a\x00b",
        "preflight=a\x1b[31mb",
        "preflight=a\u202eb",
        "preflight=ok\r\n",  # a trailing line break is refused, not trimmed away
        "preflight=\x1bok",
    ],
)
def test_a_malformed_override_is_a_usage_error(
    world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, value: str
) -> None:
    monkeypatch.setenv("CHANGECAST_ACTOR", "alice@ccoe.example.com")
    cid = new_change(world, tmp_path)
    bad = world.invoke("change", "submit", cid, "--override", value)
    assert bad.code == 2, bad.exception
    assert world.invoke("change", "show", cid, "-o", "json").json()["status"] == "draft"


@pytest.mark.parametrize("comment", ["no\x00pe", "a\x1b[2Jb", "a\u2067b", "a\rb"])
def test_a_comment_with_control_characters_is_a_usage_error(
    world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, comment: str
) -> None:
    monkeypatch.setenv("CHANGECAST_ACTOR", "alice@ccoe.example.com")
    cid = new_change(world, tmp_path)
    world.invoke("change", "submit", cid, "--override", f"preflight={REASON}")
    bad = world.invoke("change", "cancel", cid, "--comment", comment)
    assert bad.code == 2, bad.exception
    assert "comment" in str(bad.exception)
    assert world.invoke("change", "show", cid, "-o", "json").json()["status"] == "submitted"


def test_override_on_an_ungated_action_is_a_usage_error(
    world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CHANGECAST_ACTOR", "alice@ccoe.example.com")
    cid = new_change(world, tmp_path)
    world.invoke("change", "submit", cid, "--override", f"preflight={REASON}")
    bad = world.invoke("change", "cancel", cid, "--override", f"preflight={REASON}")
    assert bad.code == 2
    assert "applies to submit and approve" in str(bad.exception)
    assert world.invoke("change", "show", cid, "-o", "json").json()["status"] == "submitted"

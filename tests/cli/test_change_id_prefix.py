"""Where the CLI takes a change id, a unique start of it (8 hex digits or more) will do."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from tests.builders import change_body
from tests.cli.ses_harness import World, moto_world

BUCKET = "changecast-test"


@pytest.fixture
def world(aws_env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("CHANGECAST_ACTOR", "alice@ccoe.example.com")
    for made in moto_world(tmp_path):
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=BUCKET)
        yield made


def new_draft(world: World, tmp_path: Path, title: str) -> str:
    body = tmp_path / f"{title}.json"
    body.write_text(json.dumps(change_body(title=title)))
    made = world.invoke("change", "new", "--from-file", str(body), "-o", "json")
    assert made.code == 0, made.stderr
    return str(made.json()["changeId"])


def test_a_unique_prefix_names_the_change(world: World, tmp_path: Path) -> None:
    cid = new_draft(world, tmp_path, "Rotate the VPN keys")
    for given in (cid, cid[:8], cid[:13], cid[:13].replace("-", ""), cid[:8].upper()):
        shown = world.invoke("change", "show", given, "-o", "json")
        assert shown.code == 0, (given, shown.exception)
        assert shown.json()["changeId"] == cid


def test_a_short_unknown_or_ambiguous_prefix_is_one_clear_error(
    world: World, tmp_path: Path
) -> None:
    cid = new_draft(world, tmp_path, "Rotate the VPN keys")
    too_short = world.invoke("change", "show", cid[:7])
    assert too_short.code == 2 and "is not a UUID" in str(too_short.exception)
    unknown = "0" * 8 if not cid.startswith("0" * 8) else "f" * 8
    missing = world.invoke("change", "show", unknown)
    assert missing.code == 1 and f"no change id starts with {unknown}" in str(missing.exception)
    twin = cid[:9] + ("0" if cid[9] != "0" else "1") + cid[10:]
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.put_object(Bucket=BUCKET, Key=f"drafts/{twin}.json", Body=b"{}")
    ambiguous = world.invoke("change", "submit", cid[:8])
    assert ambiguous.code == 2
    message = str(ambiguous.exception)
    assert f"change id prefix {cid[:8]} is ambiguous" in message
    assert cid in message and twin in message
    assert world.invoke("change", "show", cid[:10], "-o", "json").json()["changeId"] == cid

"""``changecast index rebuild`` names what it skips or cleans; exit 0 (all in), 3 (partial)."""

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


def test_rebuild_names_a_cleaned_document_exits_0_and_a_broken_one_exits_3(
    world: World, tmp_path: Path
) -> None:
    body = tmp_path / "change.json"
    body.write_text(json.dumps(change_body(title="Rotate the VPN keys", customers=["acme"])))
    made = world.invoke("change", "new", "--from-file", str(body), "-o", "json")
    assert made.code == 0, made.exception
    change_id = str(made.json()["changeId"])
    s3 = boto3.client("s3", region_name="us-east-1")
    key = f"drafts/{change_id}.json"
    document = json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
    document["changeMetadata"]["rollbackPlan"] = "swap\u0000back"  # written by another tool
    s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(document).encode())

    cleaned = world.invoke("index", "rebuild", "-o", "json")
    assert cleaned.code == 0, cleaned.exception
    report = cleaned.json()
    assert report["drafts"] == 1
    assert [p["key"] for p in report["cleaned"]] == [key]
    assert report["errors"] == []

    broken = "archive/latest/00000000-0000-4000-8000-000000000000.json"
    s3.put_object(Bucket=BUCKET, Key=broken, Body=b"{not json")
    partial = world.invoke("index", "rebuild")
    assert partial.code == 3, partial.exception
    said = " ".join(partial.stdout.split())
    assert f"skipped {broken}" in said
    assert f"cleaned {key}" in said
    shown = world.invoke("change", "show", change_id, "-o", "json")
    assert shown.code == 0, shown.exception

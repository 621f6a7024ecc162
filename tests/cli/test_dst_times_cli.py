"""The CLI refuses a window in a DST gap (exit 2, naming the gap) and shows a fold's offset."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from tests.builders import change_body
from tests.cli.ses_harness import World, moto_world

GAP = "02:30 on 2027-03-14 does not exist in America/New_York: clocks go from 02:00 to 03:00"


def said(error: BaseException | None) -> str:
    """What ``main()`` prints on stderr: the message and each field's problem."""
    details = getattr(error, "details", None) or []
    return "\n".join([str(error), *(f"{p['field']}: {p['problem']}" for p in details)])


@pytest.fixture
def world(aws_env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("CHANGECAST_ACTOR", "alice@ccoe.example.com")
    for made in moto_world(tmp_path):
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="changecast-test")
        yield made


def test_a_window_in_the_spring_forward_gap_exits_2_naming_the_gap(
    world: World, tmp_path: Path
) -> None:
    body = tmp_path / "gap.json"
    body.write_text(json.dumps(change_body(start="2027-03-14T02:30", end="2027-03-14T04:00")))
    refused = world.invoke("change", "new", "--from-file", str(body))
    assert refused.code == 2, refused.exception
    assert GAP in said(refused.exception)
    announced = world.invoke(
        "announcement",
        "new",
        "--title",
        "Maintenance",
        "--kind",
        "general",
        "--event-start",
        "2027-03-14T02:30",
        "--event-end",
        "2027-03-14T04:00",
        "--timezone",
        "America/New_York",
    )
    assert announced.code == 2, announced.exception
    assert GAP in said(announced.exception)


def test_a_time_in_the_fold_is_shown_with_its_offset(world: World, tmp_path: Path) -> None:
    body = tmp_path / "fold.json"
    body.write_text(json.dumps(change_body(start="2027-11-07T01:30", end="2027-11-07T03:00")))
    made = world.invoke("change", "new", "--from-file", str(body), "-o", "json")
    assert made.code == 0, made.exception
    shown = world.invoke("change", "show", str(made.json()["changeId"]))
    assert shown.code == 0, shown.exception
    text = " ".join(shown.stdout.split())
    assert "2027-11-07 01:30 (UTC-04:00, the first of the two times" in text
    assert "2027-11-07 03:00 (UTC-05:00)" in text

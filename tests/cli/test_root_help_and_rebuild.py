"""The root ``--help`` in panels like a sub-command's; ``index rebuild`` says its counts once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from changecast.cli.main import COMMANDS
from tests.cli.ses_harness import World, moto_world


def help_at(columns: int) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CHANGECAST_"))}
    return subprocess.run(
        [sys.executable, "-m", "changecast", "--help"],
        capture_output=True,
        text=True,
        env={**env, "COLUMNS": str(columns)},
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("columns", [80, 120])
def test_the_root_help_shows_panels_and_every_command(columns: int) -> None:
    done = help_at(columns)
    assert done.returncode == 0, done.stderr
    text = done.stdout
    for panel in ("Options", "Notices", "The embedded system", "Every customer's AWS"):
        assert f"╭─ {panel} " in text, text
    assert "╭─ Running in production " in text
    assert "[env var: CHANGECAST_DATA_DIR]" in text
    for name, (_, summary) in COMMANDS.items():
        assert any(line.startswith(f"│ {name} ") for line in text.splitlines()), name
        assert summary.split(":")[0] in text
    assert max(len(line) for line in text.splitlines()) <= columns
    assert done.stderr == ""


@pytest.fixture
def world(aws_env: None, tmp_path: Path) -> Iterator[World]:
    yield from moto_world(tmp_path)


def test_index_rebuild_prints_its_table_and_no_log_line_of_the_same(world: World) -> None:
    import boto3

    bucket = json.loads(world.config_path.read_text())["s3_config"]["bucket_name"]
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=bucket)
    done = world.invoke("index", "rebuild")
    assert done.code == 0, done.stderr
    assert "changes" in done.stdout and "audit_events" in done.stdout
    assert "index_rebuilt" not in done.stderr + done.stdout
    verbose = world.invoke("--verbose", "index", "rebuild")  # the log line exists: it is dropped
    assert verbose.code == 0, verbose.stderr
    assert "index_rebuilt" in verbose.stderr

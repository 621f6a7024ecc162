"""``changecast events replay`` without a running ``local up``: one line, exit 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_replay_without_local_up_says_why_and_exits_2(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CHANGECAST_"))}
    done = subprocess.run(
        [sys.executable, "-m", "changecast", "--data-dir", str(tmp_path), "events", "replay"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"error (invalid_input): no local up is running on {tmp_path}: ")
    assert "start one with `make up`" in lines[0]
    assert "Traceback" not in done.stderr


def test_replay_on_aws_says_it_needs_local_up(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CHANGECAST_"))}
    env["CHANGECAST_MODE"] = "aws"
    done = subprocess.run(
        [sys.executable, "-m", "changecast", "--data-dir", str(tmp_path), "events", "replay"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        "error (invalid_input): events replay needs a running `changecast local up`: on AWS, "
        "SES publishes the events"
    ]

"""The first ``make up`` as a newcomer sees it: a start line, then a banner, and nothing else.

The log (ours as JSON, moto's and werkzeug's) goes to ``{data_dir}/local-up.log``; the banner's
CLI line works exactly as printed; a busy port is said before anything is provisioned, in the
words the person used; a stopped or absent ``local up`` is said as such by the CLI.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from changecast.local.system import free_port
from tests.e2e.conftest import LocalUp, _env

pytestmark = pytest.mark.e2e
CLONE = Path(__file__).resolve().parents[2]


def changecast(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "changecast", *args],
        capture_output=True,
        text=True,
        env={**_env(), "COLUMNS": "120"},
        cwd=cwd,
        timeout=120,
        check=False,
    )


def lines(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def first_start(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalUp]:
    """``make up`` on an empty data directory: demo changes, workers, the scheduler."""
    up = LocalUp(data_dir=tmp_path_factory.mktemp("first") / "data", port=free_port())
    try:
        up.start("--customers", "3", "--via", "make", cwd=CLONE)
        deadline = time.monotonic() + 120  # the demo's mail has gone out (a bound, not a timing)
        while '"delivery_finished"' not in up.log.read_text(encoding="utf-8"):
            assert time.monotonic() < deadline, up.report()
            time.sleep(0.5)
        yield up
    finally:
        up.close()


def test_the_banner_is_the_last_thing_printed_and_the_log_is_in_the_data_dir(
    first_start: LocalUp,
) -> None:
    shown = lines(first_start.terminal)
    assert shown[0].startswith(f"starting changecast on http://127.0.0.1:{first_start.port}")
    assert str(first_start.log) in shown[0]
    assert shown[1].startswith(f"changecast is running: http://127.0.0.1:{first_start.port}")
    assert "alice@ccoe.example.com (writes changes)" in shown[2]
    assert "bob@ccoe.example.com (approves them)" in shown[2]
    assert shown[-1].strip().startswith("stop        Ctrl-C")
    assert len(shown) == 6, shown
    text = first_start.terminal.read_text(encoding="utf-8")
    assert "Traceback" not in text and '{"' not in text
    log = first_start.log.read_text(encoding="utf-8")
    events = [json.loads(line)["event"] for line in log.splitlines() if line.startswith("{")]
    assert "local_up" in events and "customer_provisioned" in events


def test_no_event_holds_an_html_page(first_start: LocalUp) -> None:
    for line in first_start.log.read_text(encoding="utf-8").splitlines():
        if line.startswith("{"):
            assert "<!doctype" not in line.lower() and "<html" not in line.lower(), line[:300]


def test_the_banners_cli_line_works_as_printed(first_start: LocalUp) -> None:
    shown = lines(first_start.terminal)
    command = shown[shown.index("  CLI, in another terminal:") + 1].strip()
    assert command.startswith(f"cd {CLONE} && CHANGECAST_DATA_DIR={first_start.data_dir} ")
    assert command.endswith("./changecast change list")
    done = subprocess.run(
        ["bash", "-c", command],
        capture_output=True,
        text=True,
        env={**_env(), "COLUMNS": "120"},
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Enable GuardDuty" in done.stdout  # a demo change


def test_a_busy_port_is_said_before_anything_is_provisioned(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for via, hint in (("cli", "choose another: --port "), ("make", "make up PORT=")):
            data = tmp_path / via
            done = changecast("--data-dir", str(data), "local", "up", "--port", str(port),
                              "--via", via)  # fmt: skip
            assert done.returncode == 1, done.stderr
            errors = done.stderr.strip().splitlines()
            assert len(errors) == 1, done.stderr
            assert f"port {port} on 127.0.0.1 is in use" in errors[0] and hint in errors[0]
            assert "Traceback" not in done.stderr
            assert not (data / "config.json").exists()  # nothing was provisioned


def test_the_cli_says_when_no_local_up_runs(tmp_path: Path, first_start: LocalUp) -> None:
    empty = tmp_path / "nothing-here"
    done = changecast("--data-dir", str(empty), "change", "list")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"error (invalid_input): no local up is running on {empty}: start one with `make up` "
        "in the changecast clone (or `changecast local up`), or point at a running one with "
        "CHANGECAST_DATA_DIR or --data-dir; to act on real AWS instead, give --config or "
        "CHANGECAST_CONFIG"
    ]
    status = changecast("--data-dir", str(empty), "local", "status")
    assert status.returncode == 1
    assert status.stdout.strip() == f"no local up is running on {empty}"
    # once a local up has stopped, its data directory (config.json and all) is not used either
    assert first_start.stop() == 0
    assert (first_start.data_dir / "config.json").exists()
    stopped = changecast("--data-dir", str(first_start.data_dir), "change", "list")
    assert stopped.returncode == 2
    assert f"no local up is running on {first_start.data_dir}" in stopped.stderr
    assert "config.json" not in stopped.stderr.split("give --config")[0]
    assert "CHANGECAST_ACTOR" not in stopped.stderr

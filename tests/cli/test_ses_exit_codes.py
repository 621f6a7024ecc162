"""Exit codes through the real ``main()`` in a subprocess: 0 ok, 1 a customer failed, 2 usage.

AWS is a moto server on 127.0.0.1 (``CHANGECAST_AWS_ENDPOINT_URL``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.ses_harness import make_world

MAIN = "from changecast.cli.main import main; main()"


@pytest.fixture(scope="module")
def moto_server() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def run(root: Path, endpoint: str, *args: str) -> subprocess.CompletedProcess[str]:
    missing = str(root / "no-such-aws-config")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CHANGECAST_"))},
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": missing,
        "AWS_SHARED_CREDENTIALS_FILE": missing,
        "CHANGECAST_AWS_ENDPOINT_URL": endpoint,
    }
    command = [
        sys.executable,
        "-c",
        MAIN,
        "--config",
        str(root / "config.json"),
        "--data-dir",
        str(root),
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60, check=False)


def test_exit_codes_of_main(tmp_path: Path, moto_server: str) -> None:
    world = make_world(tmp_path / "cfg", codes=("alpha", "beta"))
    unknown = run(world.root, moto_server, "ses", "topics", "plan", "-c", "zeta")
    assert unknown.returncode == 2
    assert "unknown customer code(s): zeta" in unknown.stderr

    ok = run(world.root, moto_server, "ses", "topics", "apply", "-c", "alpha")
    assert ok.returncode == 0, ok.stderr
    assert "wall time" in ok.stdout

    failed = run(world.root, moto_server, "ses", "topics", "describe", "--all")
    assert failed.returncode == 1
    assert "1 of 2 customers failed: beta" in failed.stderr

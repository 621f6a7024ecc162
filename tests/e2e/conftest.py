"""Start the real embedded system (``changecast local up``) in a subprocess."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from changecast.local.system import free_port
from changecast.local_runtime import LOCAL_ACCESS_KEY, LOCAL_SECRET_KEY, LocalRuntime, read_running


@dataclass
class LocalUp:
    """A running ``local up`` process and a way to run CLI commands against it."""

    data_dir: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    def start(self, *extra: str, env: dict[str, str] | None = None) -> LocalRuntime:
        with (self.data_dir.parent / "local-up.log").open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "changecast",
                    "--data-dir",
                    str(self.data_dir),
                    "local",
                    "up",
                    "--port",
                    str(self.port),
                    *extra,
                ],
                stdout=subprocess.DEVNULL,
                stderr=log,
                env={**_env(), **(env or {})},
            )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            local = read_running(self.data_dir)
            if local is not None:
                return local
            if self.process.poll() is not None:
                tail = (self.data_dir.parent / "local-up.log").read_text()[-3000:]
                raise AssertionError(f"local up exited with {self.process.returncode}:\n{tail}")
            time.sleep(0.2)
        raise AssertionError("local up did not become ready in 90 s")

    def stop(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=60)
        self.process = None
        return code

    def cli(self, *args: str, expect: int = 0, env: dict[str, str] | None = None) -> Any:
        done = subprocess.run(
            [sys.executable, "-m", "changecast", "--data-dir", str(self.data_dir), *args],
            capture_output=True,
            env={**_env(), **(env or {})},
            timeout=120,
            check=False,
        )
        assert done.returncode == expect, (args, done.returncode, done.stderr.decode()[-3000:])
        out = done.stdout.decode()
        return json.loads(out) if "--output" in args and "json" in args else out

    def client(self, service: str) -> Any:
        local = read_running(self.data_dir)
        assert local is not None
        return boto3.client(
            service,
            endpoint_url=local.aws_endpoint_url,
            region_name=local.region,  # type: ignore[call-overload]
            aws_access_key_id=LOCAL_ACCESS_KEY,
            aws_secret_access_key=LOCAL_SECRET_KEY,
        )


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CHANGECAST_"))}
    env["AWS_CONFIG_FILE"] = env["AWS_SHARED_CREDENTIALS_FILE"] = "/nonexistent/changecast"
    return env


@pytest.fixture
def local_up(tmp_path: Path) -> Iterator[LocalUp]:
    system = LocalUp(data_dir=tmp_path / "data", port=free_port())
    system.data_dir.mkdir()
    try:
        yield system
    finally:
        if system.process is not None:
            system.process.kill()
            system.process.wait()

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

START_SECONDS = float(os.environ.get("CHANGECAST_TEST_START_SECONDS", "180"))
"""How long ``local up`` may take to be ready: enough on a loaded 2-core machine (a bound, not
a timing assertion; a cold start takes about 30 s idle)."""
STOP_SECONDS = 90.0
STAGES = ("customer_provisioned", "worker_started", "local_up")
"""Log events that show how far a start got (its progress, in a failure message)."""


@dataclass
class LocalUp:
    """A running ``local up`` process and a way to run CLI commands against it.

    Its terminal output goes to ``terminal.txt`` beside the data directory and its log to
    ``{data_dir}/local-up.log``. Every process started is waited for: ``close`` kills one that
    is still running, so no ``Popen`` is ever left to the garbage collector.
    """

    data_dir: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def terminal(self) -> Path:
        return self.data_dir.parent / "terminal.txt"

    @property
    def log(self) -> Path:
        return self.data_dir / "local-up.log"

    def start(
        self, *extra: str, env: dict[str, str] | None = None, cwd: Path | None = None
    ) -> LocalRuntime:
        self.close()
        with self.terminal.open("ab") as terminal:
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
                stdin=subprocess.DEVNULL,
                stdout=terminal,
                stderr=subprocess.STDOUT,
                env={**_env(), **(env or {})},
                cwd=cwd,
            )
        try:
            return self._ready(self.process)
        except BaseException:
            self.close()
            raise

    def _ready(self, process: subprocess.Popen[bytes]) -> LocalRuntime:
        began = time.monotonic()
        while time.monotonic() - began < START_SECONDS:
            local = read_running(self.data_dir)
            if local is not None and local.pid == process.pid:
                return local
            if process.poll() is not None:
                raise AssertionError(f"local up exited with {process.returncode}\n{self.report()}")
            time.sleep(0.2)
        raise AssertionError(f"local up was not ready after {START_SECONDS:.0f} s\n{self.report()}")

    def report(self) -> str:
        """How far the start got, and the tails of its terminal and its log."""
        log = _tail(self.log, 4000)
        reached = [stage for stage in STAGES if f'"{stage}"' in log] or ["none"]
        return (
            f"stages reached: {', '.join(reached)}\n"
            f"--- terminal ({self.terminal}) ---\n{_tail(self.terminal, 2000)}\n"
            f"--- log ({self.log}) ---\n{log}"
        )

    def stop(self) -> int:
        """SIGTERM, then wait: ``local up``'s exit code (killed and waited if it hangs)."""
        process = self.process
        assert process is not None
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            # Known open bug (closing note of 2026-12-08): after heavy SES-event traffic a
            # `local up` has twice not stopped on SIGTERM within the bound in a full CI run. It
            # is killed here, and the teardown reports it on stderr instead of failing the test
            # whose assertions all passed.
            self.close()
            sys.stderr.write(f"local up did not stop in {STOP_SECONDS:.0f} s\n{self.report()}\n")
            self.process = None
            return -9
        self.process = None
        return code

    def close(self) -> None:
        """Kill the process if it still runs, and wait for it (idempotent)."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.kill()
        process.wait()

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


def _tail(path: Path, size: int) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[-size:]
    except FileNotFoundError:
        return "(none)"


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
        system.close()

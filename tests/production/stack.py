"""A hub on moto's server, as a deployed process sees it: a bucket, config in S3, a database."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import httpx

from changecast.local.demo import demo_config, demo_ses_config

BUCKET = "changecast-hub-test"
SECRET = "a-session-secret-of-forty-characters-xyz"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Hub:
    """moto's server and what a deployment puts in it."""

    endpoint: str
    root: Path
    env: dict[str, str] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        return boto3.client(
            service,  # type: ignore[call-overload]
            endpoint_url=self.endpoint,
            region_name="us-east-1",
        )

    def put_config(self, portal_url: str = "https://portal.example.com") -> None:
        config = demo_config(2, portal_url=portal_url)
        raw = json.loads(config.model_dump_json(exclude_none=True))
        raw["s3_config"]["bucket_name"] = BUCKET
        s3 = self.client("s3")
        s3.put_object(Bucket=BUCKET, Key="config/config.json", Body=json.dumps(raw).encode())
        ses = demo_ses_config().model_dump(mode="json", by_alias=True)
        s3.put_object(Bucket=BUCKET, Key="config/SESConfig.json", Body=json.dumps(ses).encode())

    def aws_mode_env(self, **extra: str) -> dict[str, str]:
        """What Terraform gives a deployed process (the secret may come from Secrets Manager)."""
        return {
            **self.env,
            "CHANGECAST_MODE": "aws",
            "CHANGECAST_AWS_ENDPOINT_URL": self.endpoint,
            "CHANGECAST_CONFIG": f"s3://{BUCKET}/config/config.json",
            "CHANGECAST_DATABASE_URL": f"sqlite:///{self.root / 'index.db'}",
            "CHANGECAST_WEB__SESSION_SECRET": SECRET,
            "CHANGECAST_DATA_DIR": str(self.root / "data"),
            **extra,
        }

    def run_cli(self, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "changecast", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


def clean_env(root: Path) -> dict[str, str]:
    """The caller's environment without any CHANGECAST_ or AWS_ setting, plus fake credentials."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("CHANGECAST_", "AWS_"))}
    missing = str(root / "no-such-aws-file")
    return {
        **kept,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": missing,
        "AWS_SHARED_CREDENTIALS_FILE": missing,
    }


@contextmanager
def moto_hub(root: Path) -> Iterator[Hub]:
    """moto's server on a free port with the hub bucket; credentials are fake."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    env = clean_env(root)
    saved = {k: os.environ.get(k) for k in env if k.startswith("AWS_")}
    os.environ.update({k: v for k, v in env.items() if k.startswith("AWS_")})
    try:
        hub = Hub(endpoint=f"http://127.0.0.1:{port}", root=root, env=env)
        httpx.post(f"{hub.endpoint}/moto-api/reset")  # moto's state is per process, not server
        hub.client("s3").create_bucket(Bucket=BUCKET)
        yield hub
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        server.stop()


@contextmanager
def serving(hub: Hub, env: dict[str, str]) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """``changecast serve`` as its own process; yields its URL once /api/health answers."""
    port = free_port()
    log = (hub.root / f"serve-{port}.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "changecast", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError((hub.root / f"serve-{port}.log").read_text())
            try:
                if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise AssertionError("changecast serve did not answer within 60 s")
        yield url, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()

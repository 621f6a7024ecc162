"""Fault-suite harness: a moto server, provisioned customers, and real worker processes.

Workers are forked from a "zygote" process that imported changecast once, so that a SIGKILLed
worker is replaced in a fraction of a second (a fresh interpreter takes seconds to import
boto3 on a loaded machine). Each child runs the real ``changecast worker run`` entry point.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
from moto.moto_server.threaded_moto_server import ThreadedMotoServer

from changecast.bootstrap import Runtime
from changecast.delivery.models import ExecutionDocument, ExecutionRecord
from changecast.distribution.models import DistributionEvent
from changecast.layout import execution_key
from changecast.local import provision
from changecast.local.demo import HUB_ACCOUNT, demo_config, demo_ses_config
from changecast.local.moto_store import object_body, sent_mail
from changecast.local.system import free_port
from changecast.settings import Settings

REGION = "us-east-1"

ZYGOTE = """
import os, signal, sys
import changecast.cli.main, changecast.workers.wiring, changecast.workers.runner  # warm imports
import boto3, botocore.session
signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
for line in sys.stdin:
    log_path, *args = line.split()
    pid = os.fork()
    if pid == 0:
        null = os.open(os.devnull, os.O_RDWR)
        log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        os.dup2(null, 0)
        os.dup2(null, 1)
        os.dup2(log, 2)
        sys.argv = ["changecast", *args]
        import faulthandler
        faulthandler.register(signal.SIGUSR1, all_threads=True)  # stacks on demand (a hang)
        code = 0
        try:
            changecast.cli.main.main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            import traceback
            traceback.print_exc()
            code = 70
        finally:
            os._exit(code)
    print(pid, flush=True)
"""


@contextmanager
def moto_server() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    reset = urllib.request.Request(f"{url}/moto-api/reset", method="POST")
    urllib.request.urlopen(reset, timeout=30).close()  # backends are per process, not server
    try:
        yield url
    finally:
        urllib.request.urlopen(reset, timeout=30).close()  # leave no state to other tests
        server.stop()


def provisioned(
    endpoint: str,
    root: Path,
    *,
    customers: int = 1,
    contacts: int = 0,
    visibility: int = 1,
    max_receives: int = 5,
    send_rate: float = 50,
    customer_settings: dict[str, Any] | None = None,
) -> Runtime:
    """``customers`` demo customers on the moto server; acme gets ``contacts`` more contacts.

    ``customer_settings`` are set on every customer mapping (``window_notices``, for example).
    """
    config = demo_config(customers, portal_url="http://portal.test")
    mappings = {
        code: mapping.model_copy(update={"max_send_rate": send_rate, **(customer_settings or {})})
        for code, mapping in config.customer_mappings.items()
    }
    config = config.model_copy(update={"customer_mappings": mappings})
    (root / "config.json").write_text(config.model_dump_json(), encoding="utf-8")
    settings = Settings(
        mode="local", data_dir=root, config=root / "config.json", aws_endpoint_url=endpoint
    )
    runtime = Runtime(settings=settings)
    made = provision.provision(runtime.aws, runtime.config, demo_ses_config())
    provision.configure_notifications(
        runtime.aws, runtime.config, provision.queue_arns(runtime.aws, made)
    )
    sqs = runtime.aws.client("sqs")
    for code, customer in made.items():
        dlq_arn = sqs.get_queue_attributes(QueueUrl=customer.dlq_url, AttributeNames=["QueueArn"])
        redrive = json.dumps(
            {
                "deadLetterTargetArn": dlq_arn["Attributes"]["QueueArn"],
                "maxReceiveCount": str(max_receives),
            }
        )
        sqs.set_queue_attributes(
            QueueUrl=customer.queue_url,
            Attributes={"VisibilityTimeout": str(visibility), "RedrivePolicy": redrive},
        )
        sqs.purge_queue(QueueUrl=customer.queue_url)  # the S3 test event
        del code
    acme = runtime.directory.get("acme")
    sesv2 = runtime.aws.for_role(acme.ses_role_arn, "sesv2")
    for number in range(contacts):
        sesv2.create_contact(
            ContactListName=acme.contact_list_name,
            EmailAddress=f"person-{number:03d}@acme.example.com",
        )
    return runtime


@dataclass
class Workers:
    """Forks worker processes for one customer from a warm zygote; kills them by pid."""

    endpoint: str
    root: Path
    customer: str = "acme"
    lease_seconds: float = 1.0
    env: dict[str, str] = field(default_factory=dict)
    _zygote: subprocess.Popen[str] | None = None
    pids: list[int] = field(default_factory=list)

    logs: dict[int, Path] = field(default_factory=dict)

    @property
    def log(self) -> Path:
        """The newest worker's log."""
        return list(self.logs.values())[-1] if self.logs else self.root / "no-worker.log"

    def delivering(self, pid: int) -> bool:
        """Whether worker ``pid`` has started a delivery (its own log says so)."""
        log = self.logs[pid]
        return log.exists() and '"delivery_started"' in log.read_text(errors="replace")

    def __enter__(self) -> Workers:
        env = {
            **os.environ,
            "CHANGECAST_MODE": "local",
            "CHANGECAST_AWS_ENDPOINT_URL": self.endpoint,
            "CHANGECAST_CONFIG": str(self.root / "config.json"),
            "CHANGECAST_DATA_DIR": str(self.root),
            "CHANGECAST_DELIVERY__LEASE_SECONDS": str(self.lease_seconds),
            **self.env,
        }
        self._zygote = subprocess.Popen(
            [sys.executable, "-c", ZYGOTE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        return self

    def start(self, customer: str | None = None) -> int:
        """A new ``changecast worker run --customer … --wait 1`` process; its pid."""
        assert self._zygote is not None and self._zygote.stdin and self._zygote.stdout
        code = customer or self.customer
        command = ("worker", "run", "--customer", code, "--wait", "1")
        log = self.root / f"worker-{code}-{len(self.pids):02d}.log"
        self._zygote.stdin.write(" ".join((str(log), *command)) + "\n")
        self._zygote.stdin.flush()
        pid = int(self._zygote.stdout.readline())
        self.pids.append(pid)
        self.logs[pid] = log
        return pid

    @staticmethod
    def alive(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True

    def kill(self, pid: int, sig: signal.Signals = signal.SIGKILL) -> None:
        if self.alive(pid):
            os.kill(pid, sig)
        deadline = time.monotonic() + 30
        while self.alive(pid) and time.monotonic() < deadline:
            time.sleep(0.01)

    def __exit__(self, *_: object) -> None:
        for pid in self.pids:
            self.kill(pid)
        if self._zygote is not None:
            self._zygote.kill()
            self._zygote.wait(timeout=30)
            for pipe in (self._zygote.stdin, self._zygote.stdout):
                if pipe is not None:
                    pipe.close()

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""


def wait_for(
    condition: Callable[[], bool], workers: Workers, *, pid: int = 0, timeout: float = 60
) -> None:
    """Poll ``condition``; fail with the worker log when it times out or worker ``pid`` died."""
    deadline = time.monotonic() + timeout
    while not condition():
        if pid and not workers.alive(pid):
            raise AssertionError(f"worker {pid} died:\n" + workers.tail())
        if time.monotonic() > deadline:
            if pid and workers.alive(pid):
                os.kill(pid, signal.SIGUSR1)
                time.sleep(1)
            raise AssertionError("timed out:\n" + workers.tail())
        time.sleep(0.05)


def sent_to(runtime: Runtime, code: str) -> Counter[str]:
    """How many messages each address of ``code`` received (moto's SES store)."""
    account = runtime.directory.get(code).account_id
    return Counter(a for m in sent_mail(account, REGION) for a in m.destinations)


def mail_count(runtime: Runtime, code: str) -> int:
    return len(sent_mail(runtime.directory.get(code).account_id, REGION))


def record_of(
    runtime: Runtime, change_id: str, version: int, code: str, event: DistributionEvent
) -> ExecutionRecord | None:
    """The worker's record, read from moto's store (no request that would slow the server)."""
    bucket = runtime.config.s3_config.bucket_name
    body = object_body(HUB_ACCOUNT, bucket, execution_key(change_id, version, code))
    if body is None:
        return None
    return ExecutionDocument.model_validate_json(body).events.get(event)


def queue_depth(runtime: Runtime, url: str) -> int:
    """Visible plus in-flight messages of a queue."""
    attributes: Any = runtime.aws.client("sqs").get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def cli(root: Path, endpoint: str, *args: str) -> tuple[int, str, str]:
    """``changecast --config … --data-dir … ARGS`` in-process: (exit code, stdout, stderr)."""
    from typer.testing import CliRunner

    from changecast.cli.main import app
    from tests.cli.ses_harness import exit_code

    env = {"CHANGECAST_MODE": "local", "CHANGECAST_AWS_ENDPOINT_URL": endpoint}
    full = ["--config", str(root / "config.json"), "--data-dir", str(root), *args]
    root_logger = logging.getLogger()
    handlers = list(root_logger.handlers)
    try:
        result = CliRunner().invoke(app, full, env=env, standalone_mode=False)
    finally:  # the CLI logs to CliRunner's streams, which close when it returns
        structlog.reset_defaults()
        root_logger.handlers[:] = handlers
    problem = str(result.exception) if result.exception is not None else ""
    return exit_code(result), result.stdout, result.stderr + problem

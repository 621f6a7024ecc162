"""A real ``changecast worker run`` process, SIGKILLed mid-send and restarted: nothing lost,
at most the sends in flight duplicated; SIGTERM finishes the recipient in flight and exits 0."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto.moto_server.threaded_moto_server import ThreadedMotoServer

from changecast.bootstrap import Runtime
from changecast.changes.models import ChangeStatus
from changecast.delivery.models import ExecutionDocument
from changecast.delivery.pacing import concurrency_for
from changecast.distribution.models import DistributionEvent
from changecast.layout import execution_key
from changecast.local import provision
from changecast.local.demo import demo_config, demo_ses_config
from changecast.local.moto_store import sent_mail, sent_messages
from changecast.local.system import free_port
from changecast.settings import Settings
from tests.delivery_support import publish, stored_change

CONTACTS = 200


@pytest.fixture
def moto_server(aws_env: None) -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def provisioned(endpoint: str, root: Path) -> Runtime:
    config = demo_config(1, portal_url="http://portal.test")
    acme = config.customer_mappings["acme"].model_copy(update={"max_send_rate": 50})
    config = config.model_copy(update={"customer_mappings": {"acme": acme}})
    (root / "config.json").write_text(config.model_dump_json(), encoding="utf-8")
    settings = Settings(
        mode="local", data_dir=root, config=root / "config.json", aws_endpoint_url=endpoint
    )
    runtime = Runtime(settings=settings)
    customers = provision.provision(runtime.aws, runtime.config, demo_ses_config())
    provision.configure_notifications(
        runtime.aws, runtime.config, provision.queue_arns(runtime.aws, customers)
    )
    runtime.aws.client("sqs").set_queue_attributes(
        QueueUrl=customers["acme"].queue_url, Attributes={"VisibilityTimeout": "3"}
    )
    sesv2 = runtime.aws.for_role(acme.ses_role_arn, "sesv2")
    for number in range(CONTACTS):
        sesv2.create_contact(
            ContactListName=acme.contact_list_name,
            EmailAddress=f"person-{number:03d}@acme.example.com",
        )
    return runtime


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Every worker process a test starts: killed if still running, and always waited for."""
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.wait()


def start_worker(
    endpoint: str, root: Path, started: list[subprocess.Popen[bytes]]
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "CHANGECAST_MODE": "local",
        "CHANGECAST_AWS_ENDPOINT_URL": endpoint,
        "CHANGECAST_CONFIG": str(root / "config.json"),
        "CHANGECAST_DATA_DIR": str(root),
        "CHANGECAST_DELIVERY__LEASE_SECONDS": "2",
    }
    with (root / "worker.log").open("ab") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "changecast",
                "worker",
                "run",
                "--customer",
                "acme",
                "--wait",
                "1",
            ],
            stdout=subprocess.DEVNULL,
            stderr=log,
            env=env,
        )
    started.append(process)
    return process


def wait_for(condition: object, process: subprocess.Popen[bytes] | None, root: Path) -> None:
    deadline = time.monotonic() + 90
    while not condition():  # type: ignore[operator]
        if process is not None and process.poll() is not None:
            raise AssertionError((root / "worker.log").read_text()[-3000:])
        if time.monotonic() > deadline:
            raise AssertionError("timed out:\n" + (root / "worker.log").read_text()[-3000:])
        time.sleep(0.05)


def test_sigkill_mid_send_then_restart_loses_nothing_and_duplicates_only_sends_in_flight(
    moto_server: str, tmp_path: Path, started: list[subprocess.Popen[bytes]]
) -> None:
    runtime = provisioned(moto_server, tmp_path)
    account = runtime.directory.get("acme").account_id
    change = stored_change(status=ChangeStatus.COMPLETED, customers=["acme"])
    publish(runtime.store, change, DistributionEvent.COMPLETED, "acme")
    expected = {f"person-{n:03d}@acme.example.com" for n in range(CONTACTS)} | {
        "ops-lead@acme.example.com",
        "cloud-architect@acme.example.com",
        "sre-oncall@acme.example.com",
    }

    def sent() -> list[str]:
        return [a for m in sent_mail(account, "us-east-1") for a in m.destinations]

    def count() -> int:
        return len(sent_messages(account, "us-east-1"))

    first = start_worker(moto_server, tmp_path, started)
    wait_for(lambda: count() >= 40, first, tmp_path)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    killed_at = count()
    assert killed_at < len(expected)

    second = start_worker(moto_server, tmp_path, started)
    wait_for(lambda: count() >= killed_at + 40, second, tmp_path)
    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=30) == 0

    third = start_worker(moto_server, tmp_path, started)
    key = execution_key(change.change_id, 1, "acme")
    wait_for(lambda: runtime.store.exists(key), third, tmp_path)
    third.send_signal(signal.SIGTERM)
    assert third.wait(timeout=30) == 0

    counts = Counter(sent())
    assert set(counts) == expected
    # A kill can lose the ledger mark of each send in flight (SES accepted, mark not written):
    # one per sending thread, and one kill here.
    assert sum(n - 1 for n in counts.values()) <= concurrency_for(50)
    record = ExecutionDocument.model_validate_json(runtime.store.get(key).body).events[
        DistributionEvent.COMPLETED
    ]
    assert record.sent + record.already_sent == len(expected)

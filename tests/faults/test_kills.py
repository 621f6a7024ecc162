"""Real worker processes SIGKILLed over and over: nothing is lost, nothing is lost silently.

- 32 random SIGKILLs over one 203-recipient delivery: everyone is mailed; a kill duplicates
  at most the sends it had in flight (SES accepted, ledger mark not yet written). At the demo
  accounts' 14/s a send starts every 71 ms and SES answers well within that, so at most one send
  is in flight: at most one duplicate per kill. (A faster account has rate times SES latency
  sends in flight, the least that fills its rate; the crash-loop test runs at 50/s and bounds
  by that.)
- A crash loop (every receive of one trigger killed): the trigger ends in the DLQ with a
  ``failed`` record that says why and how far it got, and ``worker redrive`` completes it
  from the ledger.
"""

from __future__ import annotations

import random
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from changecast.changes.models import ChangeStatus
from changecast.delivery.models import ExecutionRecord, ExecutionStatus
from changecast.delivery.pacing import concurrency_for
from changecast.distribution.models import DistributionEvent
from changecast.local.moto_store import sent_messages
from tests.delivery_support import publish, stored_change
from tests.faults.support import (
    Workers,
    cli,
    moto_server,
    provisioned,
    queue_depth,
    record_of,
    sent_to,
    wait_for,
)

CONTACTS = 200
KILLS = 32
KILL_RATE = 14  # the demo accounts' rate: one send in flight at a time
SEND_RATE = 50  # tests.faults.support.provisioned's default max_send_rate
IN_FLIGHT = concurrency_for(SEND_RATE)
"""Sends a worker has in flight at once: a SIGKILL can lose the ledger mark of each of them
(SES accepted, the mark not yet written), so each kill may duplicate up to this many."""
DEMO = {"ops-lead@acme.example.com", "cloud-architect@acme.example.com"}
EVERYONE = (
    {f"person-{n:03d}@acme.example.com" for n in range(CONTACTS)}
    | DEMO
    | {"sre-oncall@acme.example.com"}
)


@pytest.fixture
def endpoint(aws_env: None) -> Iterator[str]:
    with moto_server() as url:
        yield url


def test_thirty_two_random_sigkills_lose_nobody_and_duplicate_at_most_one_each(
    endpoint: str, tmp_path: Path
) -> None:
    runtime = provisioned(
        endpoint, tmp_path, contacts=CONTACTS, max_receives=100, send_rate=KILL_RATE
    )
    change = stored_change(status=ChangeStatus.COMPLETED, customers=["acme"])
    publish(runtime.store, change, DistributionEvent.COMPLETED, "acme")
    account = runtime.directory.get("acme").account_id
    chance = random.Random(12)

    def count() -> int:
        return len(sent_messages(account, "us-east-1"))

    def record() -> ExecutionRecord | None:
        return record_of(runtime, change.change_id, 1, "acme", DistributionEvent.COMPLETED)

    kills = 0
    with Workers(endpoint, tmp_path) as workers:
        pid = workers.start()
        while kills < KILLS and record() is None:
            wait_for(lambda: workers.delivering(pid) or record() is not None, workers, pid=pid)  # noqa: B023
            base = count()
            wait_for(lambda: count() > base or record() is not None, workers, pid=pid)  # noqa: B023
            time.sleep(chance.uniform(0.0, 0.25))  # somewhere in the middle of sending
            workers.kill(pid)
            kills += 1
            pid = workers.start()
        wait_for(lambda: record() is not None, workers)
        workers.kill(pid, signal.SIGTERM)
    counts = sent_to(runtime, "acme")
    assert kills == KILLS
    assert set(counts) == EVERYONE
    assert sum(n - 1 for n in counts.values()) <= kills  # at most one duplicate per kill
    done = record()
    assert done is not None and done.status is ExecutionStatus.DELIVERED
    assert done.sent + done.already_sent == len(EVERYONE)


def test_a_crash_loop_ends_in_the_dlq_with_a_failed_record_and_redrive_completes_it(
    endpoint: str, tmp_path: Path
) -> None:
    runtime = provisioned(endpoint, tmp_path, contacts=CONTACTS, max_receives=5)
    change = stored_change(status=ChangeStatus.COMPLETED, customers=["acme"])
    trigger = publish(runtime.store, change, DistributionEvent.COMPLETED, "acme")
    account = runtime.directory.get("acme").account_id
    chance = random.Random(6)

    def count() -> int:
        return len(sent_messages(account, "us-east-1"))

    def record() -> ExecutionRecord | None:
        return record_of(runtime, change.change_id, 1, "acme", DistributionEvent.COMPLETED)

    queue_url = runtime.aws.client("sqs").get_queue_url(QueueName="changecast-acme")["QueueUrl"]
    dlq_url = runtime.aws.client("sqs").get_queue_url(QueueName="changecast-acme-dlq")["QueueUrl"]
    kills = 0
    with Workers(endpoint, tmp_path) as workers:
        for _ in range(6):  # every receive is killed mid-send; the sixth finds nothing left
            pid = workers.start()
            wait_for(
                lambda: workers.delivering(pid) or queue_depth(runtime, dlq_url) > 0,  # noqa: B023
                workers,
                pid=pid,
            )
            base = count()
            wait_for(
                lambda: count() > base or queue_depth(runtime, dlq_url) > 0,  # noqa: B023
                workers,
                pid=pid,
            )
            time.sleep(chance.uniform(0.0, 0.2))
            workers.kill(pid)
            kills += 1
        wait_for(lambda: queue_depth(runtime, dlq_url) == 1, workers)
        assert queue_depth(runtime, queue_url) == 0
        failed = record()
        assert failed is not None
        assert (failed.status, failed.dead_lettered) == (ExecutionStatus.FAILED, True)
        assert failed.failures[0].reason.startswith("dead-lettered after 5 receives: ")
        assert 0 < failed.already_sent < len(EVERYONE)  # how far it got, from the ledger
        sent_before = count()

        code, out, err = cli(
            tmp_path, endpoint, "worker", "redrive", "--customer", "acme", "--dry-run"
        )
        assert code == 0, err
        assert f"{trigger.key}: would send" in out and "receives=" in out
        assert queue_depth(runtime, dlq_url) == 1 and count() == sent_before
        code, out, err = cli(
            tmp_path,
            endpoint,
            *("worker", "redrive", "--customer", "acme", "--change", change.change_id),
        )
        assert code == 0, err
        assert queue_depth(runtime, dlq_url) == 0

        pid = workers.start()
        wait_for(lambda: (record() or failed).status is ExecutionStatus.DELIVERED, workers)
        workers.kill(pid, signal.SIGTERM)
    counts = sent_to(runtime, "acme")
    assert set(counts) == EVERYONE
    assert sum(n - 1 for n in counts.values()) <= kills * IN_FLIGHT
    done = record()
    assert done is not None and not done.dead_lettered
    assert done.already_sent >= failed.already_sent  # resumed from the ledger


def test_redrive_refuses_an_unknown_customer_with_exit_2_and_one_line(
    endpoint: str, tmp_path: Path
) -> None:
    provisioned(endpoint, tmp_path)
    code, _, err = cli(tmp_path, endpoint, "worker", "redrive", "--customer", "umbrella")
    assert code == 2
    assert "unknown customer 'umbrella'" in err


def test_redrive_refuses_a_bad_change_id_and_a_change_with_all(
    endpoint: str, tmp_path: Path
) -> None:
    provisioned(endpoint, tmp_path)
    base = ("worker", "redrive", "--customer", "acme")
    code, _, err = cli(tmp_path, endpoint, *base, "--change", "not-a-change")
    assert code == 2 and "'not-a-change' is not a UUID" in err
    one = "0f0e0d0c-0b0a-4908-8706-050403020100"
    code, _, err = cli(tmp_path, endpoint, *base, "--change", one, "--all")
    assert code == 2 and "either --change or --all" in err

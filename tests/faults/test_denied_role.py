"""A customer's SES role that cannot be assumed: failed at once, and redelivered exactly.

moto's STS checks neither trust policies nor whether the role exists, so the test makes it
refuse acme's role as AWS does when the trust policy denies (``AccessDenied``, over HTTP to
real worker processes). After the fix, redeliver for acme alone re-sends every pending event
in order, skips the approval request that the approval superseded, and mails no one else; the
customer's delivery status then settles at ``delivered``, that request shown ``superseded``.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from moto.core.exceptions import AccessDeniedError
from moto.sts.models import STSBackend

from changecast.bootstrap import Runtime
from changecast.changes.archive import ChangeArchive
from changecast.changes.models import Change, ChangeStatus
from changecast.delivery.models import ExecutionStatus
from changecast.delivery.redelivery import redeliver
from changecast.delivery.status import DeliveryState, change_deliveries
from changecast.distribution.models import DistributionEvent
from changecast.errors import NotFoundError
from changecast.ids import ChangeId
from tests.delivery_support import publish, stored_change
from tests.faults.support import (
    Workers,
    mail_count,
    moto_server,
    provisioned,
    queue_depth,
    record_of,
    wait_for,
)

SUBMITTED, APPROVED = DistributionEvent.SUBMITTED, DistributionEvent.APPROVED


@pytest.fixture
def endpoint(aws_env: None) -> Iterator[str]:
    with moto_server() as url:
        yield url


class DeniedRoles:
    """Makes moto's STS refuse AssumeRole for the roles in ``arns``."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.arns: set[str] = set()
        original = STSBackend.assume_role

        def assume_role(backend: STSBackend, **kwargs: Any) -> Any:
            role_arn = kwargs.get("role_arn", "")
            if role_arn in self.arns:
                raise AccessDeniedError(
                    user_arn="arn:aws:iam::123456789012:role/changecast-worker-acme",
                    action=f"sts:AssumeRole on resource: {role_arn}",
                )
            return original(backend, **kwargs)

        monkeypatch.setattr(STSBackend, "assume_role", assume_role)


def test_a_denied_role_fails_at_once_and_redelivery_completes_only_that_customer(
    endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = provisioned(endpoint, tmp_path, customers=2)
    acme = runtime.directory.get("acme")
    denied = DeniedRoles(monkeypatch)
    denied.arns.add(acme.ses_role_arn)
    codes = ["acme", "globex"]
    v1 = stored_change(status=ChangeStatus.APPROVED, customers=codes)
    v2 = stored_change(
        status=ChangeStatus.SUBMITTED,
        version=2,
        change_id=v1.change_id,
        approved_before=True,
        customers=codes,
    )
    dlq = runtime.aws.client("sqs").get_queue_url(QueueName="changecast-acme-dlq")["QueueUrl"]
    requested = stored_change(
        status=ChangeStatus.SUBMITTED, change_id=v1.change_id, customers=codes
    )  # v1 as archived at submit, and as the latest pointer until it was approved
    events = [(requested, SUBMITTED), (v1, APPROVED), (v2, SUBMITTED)]

    def acme_record(version: int, event: DistributionEvent) -> Any:
        return record_of(runtime, v1.change_id, version, "acme", event)

    def globex_done(count: int) -> bool:
        found = [
            record_of(runtime, v1.change_id, c.version, "globex", e) for c, e in events[:count]
        ]
        return all(r is not None and r.status is ExecutionStatus.DELIVERED for r in found)

    archive = ChangeArchive(runtime.store)

    def dead_and_done(count: int) -> bool:
        return queue_depth(runtime, dlq) == count and globex_done(count)

    def step(change: Change, event: DistributionEvent) -> None:
        """As the portal does: the latest pointer moves, then the event's triggers are written."""
        try:
            etag: str | None = archive.get_latest(ChangeId(change.change_id)).etag
        except NotFoundError:
            etag = None
        archive.put_latest(change, etag=etag)
        for code in codes:
            publish(runtime.store, change, event, code)

    with Workers(endpoint, tmp_path) as workers:
        acme_pid, globex_pid = workers.start("acme"), workers.start("globex")
        for number, (change, event) in enumerate(events, start=1):
            step(change, event)  # each delivered (globex) or dead-lettered (acme) in turn
            wait_for(partial(dead_and_done, number), workers, pid=acme_pid)
        for change, event in events:
            failed = acme_record(change.version, event)
            assert failed is not None
            assert (failed.status, failed.dead_lettered) == (ExecutionStatus.FAILED, True)
            assert "cannot be assumed" in failed.failures[0].reason
            assert "AccessDenied" in failed.failures[0].reason
        assert mail_count(runtime, "acme") == 0
        letters = dead_letters(runtime, dlq)
        assert sorted(a["changecast-receives"] for a in letters) == ["1", "1", "1"]  # no retry

        denied.arns.clear()  # the role's trust policy is fixed
        globex_mail = mail_count(runtime, "globex")
        queued = redeliver(
            store=runtime.store,
            queues=runtime.trigger_queue,
            bucket=runtime.config.s3_config.bucket_name,
            change=v2,
            customer="acme",
        )
        assert queued == [
            f"customers/acme/{v1.change_id}-v1-approved.json",
            f"customers/acme/{v1.change_id}-v2-submitted.json",
        ]
        wait_for(
            lambda: all(
                (acme_record(v, e) or failed).status is ExecutionStatus.DELIVERED
                for v, e in ((1, APPROVED), (2, SUBMITTED))
            ),
            workers,
            pid=acme_pid,
        )
        workers.kill(acme_pid, signal.SIGTERM)
        workers.kill(globex_pid, signal.SIGTERM)
    assert mail_count(runtime, "globex") == globex_mail
    stale = acme_record(1, SUBMITTED)
    assert stale is not None and stale.status is ExecutionStatus.FAILED  # superseded: not re-sent
    assert mail_count(runtime, "acme") == sum(
        acme_record(v, e).sent for v, e in ((1, APPROVED), (2, SUBMITTED))
    )
    status = change_deliveries(v2, read_model=runtime.deliveries)
    settled = next(c for c in status.customers if c.customer_code == "acme")
    assert settled.state is DeliveryState.DELIVERED  # every current event delivered
    assert [(e.version, e.event, e.state) for e in settled.current] == [
        (1, SUBMITTED, DeliveryState.SUPERSEDED),
        (1, APPROVED, DeliveryState.DELIVERED),  # still stands while v2 awaits approval
        (2, SUBMITTED, DeliveryState.DELIVERED),
    ]
    assert settled.current[0].superseded_by is not None
    assert settled.current[0].superseded_by.startswith("approve of v1 by ")


def dead_letters(runtime: Runtime, url: str) -> list[dict[str, str]]:
    """The DLQ's messages' attributes (left in the queue, visible again)."""
    from changecast.aws.sqs import SqsQueue

    queue = SqsQueue(runtime.aws.client("sqs"), url)
    found = queue.receive(wait_seconds=0, max_messages=10, visibility=30)
    for message in found:
        queue.set_visibility(message.receipt, 0)
    return [message.attributes for message in found]

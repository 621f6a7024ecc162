"""Builds a customer's delivery worker from a Runtime: SES via its assumed role, ledger, queues."""

from __future__ import annotations

import os
import socket
import threading
import uuid
from datetime import timedelta
from typing import Any

import boto3
import structlog

from changecast.aws.dynamodb import DynamoDbLedger, DynamoDbSuppressions
from changecast.aws.ses import SesContactListAdapter
from changecast.aws.ses_mail import SesMailAdapter
from changecast.aws.sessions import AwsClients
from changecast.aws.sqs import SqsQueue
from changecast.bootstrap import Runtime
from changecast.customers.models import CustomerMapping
from changecast.delivery.personal import RecipientLinks
from changecast.delivery.ports import DeliveryReadModel
from changecast.delivery.render import TemplateSource
from changecast.delivery.router import Topics
from changecast.delivery.service import DeliveryDeps
from changecast.workers.processing import CustomerProcessor
from changecast.workers.runner import QueueWorker

log = structlog.get_logger()


class AssumedSes:
    """A customer's SESv2 through its role; the client is rebuilt only when credentials rotate."""

    def __init__(self, aws: AwsClients, mapping: CustomerMapping) -> None:
        self.aws = aws
        self.mapping = mapping
        self._session: boto3.Session | None = None
        self._client: Any = None
        self._sending: Any = None
        self._lock = threading.Lock()

    def client(self, *, sending: bool = False) -> Any:
        """The SESv2 client; ``sending`` gives the one for SendEmail, without botocore retries."""
        name = f"changecast-worker-{self.mapping.customer_code}"
        session = self.aws.assume(
            self.mapping.ses_role_arn,
            session_name=name,
            external_id=self.mapping.ses_role_external_id,
        )
        with self._lock:
            if session is not self._session:
                region = self.mapping.region
                self._client = self.aws.client("sesv2", session=session, region=region)
                self._sending = self.aws.sending_client(session=session, region=region)
                self._session = session
            return self._sending if sending else self._client

    def mail(self) -> SesMailAdapter:
        return SesMailAdapter(self.client(sending=True), account_client=self.client())

    def contacts(self) -> SesContactListAdapter:
        return SesContactListAdapter(self.client())


def worker_owner() -> str:
    """Who holds ledger leases: this host, process and worker instance."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def topics_of(runtime: Runtime) -> Topics:
    return Topics.from_ses_config(runtime.ses_config)


def ledger_table(runtime: Runtime) -> str:
    return runtime.local.ledger_table if runtime.local else runtime.settings.delivery.ledger_table


def ledger_of(runtime: Runtime) -> DynamoDbLedger:
    return DynamoDbLedger(runtime.aws.client("dynamodb"), ledger_table(runtime))


def suppressions_of(runtime: Runtime) -> DynamoDbSuppressions:
    """Our suppression records (in the ledger table): the send path skips them."""
    return DynamoDbSuppressions(runtime.aws.client("dynamodb"), ledger_table(runtime))


def read_model_of(runtime: Runtime) -> DeliveryReadModel | None:
    """The read model a worker writes: the index's, when this process has a database."""
    return runtime.deliveries if runtime.has_database else None


def delivery_deps(
    runtime: Runtime, code: str, *, read_model: DeliveryReadModel | None = None, ses: Any = None
) -> DeliveryDeps:
    """The ports of ``code``'s deliveries; ``ses`` replaces the customer's real SES (tests).

    ``read_model``: by default the runtime's (``read_model_of``).
    """
    mapping = runtime.directory.get(code)
    settings = runtime.settings.delivery
    return DeliveryDeps(
        customer=mapping,
        email_config=runtime.config.email_config,
        store=runtime.store,
        ses=ses or AssumedSes(runtime.aws, mapping),
        ledger=ledger_of(runtime),
        clock=runtime.clock,
        owner=worker_owner(),
        templates=TemplateSource(settings.templates_dir),
        topics=topics_of(runtime),
        read_model=read_model or read_model_of(runtime),
        lease=timedelta(seconds=settings.lease_seconds),
        default_rate=settings.default_send_rate,
        metrics=runtime.metrics,
        windows=runtime.windows if runtime.has_database else None,
        recipient_links=signoff_links_of(runtime),
        survey_links=runtime.survey_links,
        suppressions=suppressions_of(runtime),
    )


def signoff_links_of(runtime: Runtime) -> RecipientLinks | None:
    """The approval request's sign-off links, when this process has the link secret."""
    links = runtime.signoff_links
    if links is None:
        log.warning("signoff_links_disabled", hint="set CHANGECAST_LINKS__SECRET")
    return links


def build_worker(
    runtime: Runtime,
    code: str,
    *,
    read_model: DeliveryReadModel | None = None,
    ses: Any = None,
    queue_url: str | None = None,
    wait_seconds: int | None = None,
) -> QueueWorker:
    """A ready-to-run worker for customer ``code``."""
    deps = delivery_deps(runtime, code, read_model=read_model, ses=ses)
    sqs = runtime.aws.client("sqs")
    url, dlq = (queue_url, None) if queue_url else runtime.queue_urls(code)
    queue = SqsQueue(sqs, url)
    dlq = dlq or queue.dead_letter_url()
    settings = runtime.settings.delivery
    return QueueWorker(
        customer=code,
        queue=queue,
        processor=CustomerProcessor(deps=deps, bucket=runtime.config.s3_config.bucket_name),
        dead_letters=SqsQueue(sqs, dlq) if dlq else None,
        wait_seconds=settings.wait_seconds if wait_seconds is None else wait_seconds,
        batch_size=settings.batch_size,
        max_receives=settings.max_receive_count,
        metrics=deps.metrics,
    )

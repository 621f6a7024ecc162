"""The composition root: builds adapters from settings and wires them into the domain services.

boto3 and the SQL engine are imported on first use, so that commands that need neither (``--help``,
``package``) start fast.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Literal, TypeVar

from pydantic import BaseModel, SecretStr

from changecast.customers.directory import CustomerDirectory, load_model, parse_model
from changecast.customers.models import AppConfig, SESConfig
from changecast.errors import InvalidInputError
from changecast.local_runtime import (
    LOCAL_ACCESS_KEY,
    LOCAL_SECRET_KEY,
    LocalRuntime,
    outbox_sent_since,
    read_running,
)
from changecast.ports import Clock, DatabaseCredentials, SystemClock
from changecast.settings import SELF_APPROVAL_REFUSED, ConfigLocation, Settings

if TYPE_CHECKING:
    import boto3

    from changecast.access.signoff import SignoffLinks
    from changecast.access.survey import SurveyLinks
    from changecast.actions.context import ChangeDeps
    from changecast.actions.gates import Gate
    from changecast.audit.service import AuditTrail
    from changecast.aws.dynamodb import DynamoDbLedger
    from changecast.aws.s3 import S3ObjectStore
    from changecast.aws.sessions import AwsClients
    from changecast.aws.sqs import SqsQueue
    from changecast.changes.archive import ChangeArchive
    from changecast.customers.models import CustomerMapping
    from changecast.delivery.feed_tokens import FeedTokens
    from changecast.delivery.ports import PreflightAccess
    from changecast.delivery.preflight_service import Preflight
    from changecast.delivery.recipients import RecipientCounter
    from changecast.index.access_store import SqlSigninStore, SqlTokenStore, SqlUserStore
    from changecast.index.audit_store import SqlAuditIndex
    from changecast.index.deliveries import SqlDeliveryReadModel
    from changecast.index.store import SqlChangeIndex
    from changecast.index.surveys import SqlSurveyIndex
    from changecast.index.windows import SqlWindowIndex
    from changecast.metrics.ports import Metrics

_M = TypeVar("_M", bound=BaseModel)
Process = Literal["cli", "portal", "worker"]


def resolve_settings(
    settings: Settings, *, process: Process = "cli"
) -> tuple[Settings, LocalRuntime | None]:
    """Settle the mode: ``local`` only when asked for, or when a CLI command finds ``local up``.

    ``CHANGECAST_MODE=aws`` never reads ``local.json``; neither does a deployed process (portal,
    worker) whose mode is unset: only the CLI looks for a ``local up`` on its data directory. A
    file left by a dead ``local up``, or copied from another machine, is ignored. Explicit local
    mode needs a running ``local up``, or an embedded AWS of its own at ``aws_endpoint_url``.
    """
    if settings.mode == "aws" or (settings.mode is None and process != "cli"):
        return settings.model_copy(update={"mode": "aws"}), None
    local = read_running(settings.data_dir)
    if local is None:
        if settings.mode == "local" and settings.aws_endpoint_url:
            return settings, None  # an embedded AWS of its own (tests, a moto server)
        if settings.mode == "local":
            raise InvalidInputError(
                f"CHANGECAST_MODE=local, but no `changecast local up` runs on {settings.data_dir}; "
                "start it, or set CHANGECAST_MODE=aws"
            )
        return settings.model_copy(update={"mode": "aws"}), None
    updated = settings.model_copy(
        update={"mode": "local", "aws_endpoint_url": local.aws_endpoint_url}
    )
    return updated, local


def local_session(region: str) -> boto3.Session:
    """Credentials for the embedded moto server; never the user's real ones."""
    import boto3

    return boto3.Session(
        aws_access_key_id=LOCAL_ACCESS_KEY,
        aws_secret_access_key=LOCAL_SECRET_KEY,
        region_name=region,
    )


def environment_region() -> str:
    """The region for reads made before config.json is known (the config file, secrets)."""
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


@dataclass
class Runtime:
    """Everything an entry point needs, built lazily from settings and config.json."""

    settings: Settings
    local: LocalRuntime | None = None
    clock: Clock = SystemClock()  # noqa: RUF009 - stateless

    def _clients(self, region: str) -> AwsClients:
        from changecast.aws.sessions import AwsClients, AwsTarget

        target = AwsTarget(region=region, endpoint_url=self.settings.aws_endpoint_url)
        base = local_session(region) if self.settings.mode == "local" else None
        return AwsClients(target=target, base=base)

    @cached_property
    def bootstrap_aws(self) -> AwsClients:
        """Clients in the environment's region, for reading config.json itself from S3."""
        return self._clients(environment_region())

    def read_config_file(self, location: ConfigLocation, model: type[_M]) -> _M:
        """A config file from disk or S3; errors name the file, the field and the problem."""
        if location.path is not None:
            return load_model(location.path, model)
        from changecast.aws.config_files import read_s3_file

        client = self.bootstrap_aws.client("s3")
        body = read_s3_file(client, location.bucket or "", location.key or "")
        return parse_model(body, str(location), model)

    @cached_property
    def config(self) -> AppConfig:
        """config.json, with ``CHANGECAST_WEB__BASE_URL`` (when set) as the portal's URL."""
        loaded = self.read_config_file(self.settings.config_location, AppConfig)
        return with_base_url(loaded, self.settings.web.base_url)

    @cached_property
    def ses_config(self) -> SESConfig | None:
        """SESConfig.json, or None when there is none (the topics' built-in defaults apply)."""
        location = self.settings.ses_config_location
        try:
            return self.read_config_file(location, SESConfig)
        except InvalidInputError as exc:
            if exc.details and exc.details[0].problem == "does not exist":
                return None
            raise

    def require_ses_config(self) -> SESConfig:
        """SESConfig.json, which the admin commands cannot do without (missing: exit 2)."""
        found = self.ses_config
        if found is None:  # read again for the error that names the file
            return self.read_config_file(self.settings.ses_config_location, SESConfig)
        return found

    @cached_property
    def directory(self) -> CustomerDirectory:
        return CustomerDirectory(self.config)

    @cached_property
    def aws(self) -> AwsClients:
        return self._clients(self.config.aws_region)

    @cached_property
    def store(self) -> S3ObjectStore:
        from changecast.aws.s3 import S3ObjectStore

        return S3ObjectStore(self.aws.client("s3"), self.config.s3_config.bucket_name)

    @cached_property
    def archive(self) -> ChangeArchive:
        from changecast.changes.archive import ChangeArchive

        return ChangeArchive(self.store)

    @cached_property
    def metrics(self) -> Metrics:
        """EMF lines on stdout in aws mode (CloudWatch extracts them); log events in local mode."""
        if self.settings.mode == "local":
            from changecast.metrics.logged import log_metrics

            return log_metrics()
        from changecast.metrics.emf import emf_metrics

        return emf_metrics(self.settings.metrics.namespace)

    @property
    def migrates_index(self) -> bool:
        """Whether opening the index migrates it.

        In local mode, and for the CLI's own SQLite file, yes. A configured database is migrated
        by ``changecast index migrate`` as a deploy step; a process that finds it behind refuses
        to start and names that command.
        """
        return self.settings.mode == "local" or not self.settings.database_url

    @cached_property
    def database_credentials(self) -> DatabaseCredentials | None:
        """The index's user and password from the RDS-managed secret, when one is configured."""
        secret_id = self.settings.database_secret_id
        if not secret_id:
            return None
        from changecast.aws.db_credentials import SecretsManagerDbCredentials

        return SecretsManagerDbCredentials(self.bootstrap_aws.client("secretsmanager"), secret_id)

    @cached_property
    def index(self) -> SqlChangeIndex:
        from changecast.index.engine import open_index

        return open_index(
            self.settings.index_url,
            migrate=self.migrates_index,
            credentials=self.database_credentials,
        )

    @cached_property
    def deliveries(self) -> SqlDeliveryReadModel:
        """The delivery read model (``delivery_records`` in the index), for workers and pages."""
        from changecast.index.deliveries import SqlDeliveryReadModel

        return SqlDeliveryReadModel(self.index.engine, clock=self.clock)

    @cached_property
    def surveys(self) -> SqlSurveyIndex:
        """Post-change survey answers in the index (the change view, dashboard, CSV)."""
        from changecast.index.surveys import SqlSurveyIndex

        return SqlSurveyIndex(self.index.engine)

    @cached_property
    def ledger(self) -> DynamoDbLedger:
        """The delivery ledger (DynamoDB, hub account): workers write it, the drill-down reads."""
        from changecast.aws.dynamodb import DynamoDbLedger

        table = self.local.ledger_table if self.local else self.settings.delivery.ledger_table
        return DynamoDbLedger(self.aws.client("dynamodb"), table)

    @property
    def has_database(self) -> bool:
        """Whether this process may write the index: local mode, or a configured database.

        A Lambda worker without ``CHANGECAST_DATABASE_URL`` has none (its disk is not shared).
        """
        return self.settings.mode == "local" or bool(self.settings.database_url)

    @cached_property
    def audit_index(self) -> SqlAuditIndex:
        from changecast.index.audit_store import SqlAuditIndex

        return SqlAuditIndex(self.index.engine)

    @cached_property
    def audit(self) -> AuditTrail:
        """Append-only events under ``audit/`` in the bucket, copied into the index."""
        from changecast.audit.service import AuditTrail

        return AuditTrail(store=self.store, index=self.audit_index)

    @cached_property
    def tokens(self) -> SqlTokenStore:
        from changecast.index.access_store import SqlTokenStore

        return SqlTokenStore(self.index.engine)

    @cached_property
    def users(self) -> SqlUserStore:
        """Each user's current role and customers, which their API tokens act with."""
        from changecast.index.access_store import SqlUserStore

        return SqlUserStore(self.index.engine)

    @cached_property
    def signins(self) -> SqlSigninStore:
        from changecast.index.access_store import SqlSigninStore

        return SqlSigninStore(self.index.engine)

    @cached_property
    def changes(self) -> ChangeDeps:
        from changecast.actions.context import ChangeDeps

        return ChangeDeps(
            archive=self.archive,
            index=self.index,
            directory=self.directory,
            clock=self.clock,
            trigger_concurrency=self.settings.trigger_concurrency,
            audit=self.audit,
            metrics=self.metrics,
            allow_self_approval=self.settings.self_approval_allowed,
            gates=self.gates,
        )

    def queue_urls(self, code: str) -> tuple[str, str | None]:
        """The customer's queue URL, and its DLQ URL when known without asking SQS."""
        from changecast.aws.sqs import queue_url_from_arn

        if self.local is not None and code in self.local.customers:
            found = self.local.customers[code]
            return found.queue_url, found.dlq_url
        mapping = self.directory.get(code)
        if mapping.sqs_queue_arn is None:
            raise InvalidInputError(f"customer {code} has no sqs_queue_arn in config.json")
        return queue_url_from_arn(self.aws.client("sqs"), mapping.sqs_queue_arn), None

    def customer_queue(self, code: str) -> tuple[SqsQueue, SqsQueue | None]:
        """The customer's queue and its DLQ (from the redrive policy when not known locally)."""
        from changecast.aws.sqs import SqsQueue

        url, dlq = self.queue_urls(code)
        sqs = self.aws.client("sqs")
        queue = SqsQueue(sqs, url)
        dlq = dlq or queue.dead_letter_url()
        return queue, SqsQueue(sqs, dlq) if dlq else None

    def trigger_queue(self, code: str) -> SqsQueue:
        """The customer's trigger queue (``delivery.redelivery`` sends to it)."""
        return self.customer_queue(code)[0]

    @cached_property
    def recipient_counter(self) -> RecipientCounter:
        """Counts each customer's recipients per topic through its SES role (the preview)."""
        from changecast.aws.recipients import SesRecipientCounter

        return SesRecipientCounter(self.aws)

    @cached_property
    def preflight(self) -> Preflight:
        """Each customer's SES checked before a send (cached 60 s; the preview and the gate)."""
        from changecast.aws.ses_preflight import SesPreflightAccess
        from changecast.delivery.preflight_service import Preflight

        email = self.config.email_config
        senders = tuple(dict.fromkeys((email.sender_address, email.meeting_organizer)))
        access: PreflightAccess = SesPreflightAccess(self.aws)
        if self.settings.mode == "local":  # the embedded SES's limits, not moto's 200 a day
            access = self.local_preflight_access(access)
        return Preflight(
            access=access,
            senders=senders,
            domain=email.domain,
            clock=self.clock,
        )

    def local_preflight_access(self, inner: PreflightAccess) -> PreflightAccess:
        """Preflight in local mode: config.json's ``local_ses`` limits, and today's sends.

        The sends are counted from the embedded SES's outbox in the data directory (24 hours).
        """
        from changecast.customers.models import SimulatedSesLimits
        from changecast.delivery.preflight_service import LimitedAccess

        limits = self.config.local_ses or SimulatedSesLimits()
        data_dir = self.settings.data_dir

        def sent_24h(customer: CustomerMapping) -> int:
            since = self.clock.now() - timedelta(hours=24)
            return outbox_sent_since(data_dir, customer.account_id, since)

        return LimitedAccess(
            inner=inner,
            max_24h=limits.max_24_hour_send,
            max_rate=limits.max_send_rate,
            sent_24h=sent_24h,
        )

    @cached_property
    def gates(self) -> list[Gate]:
        """The action gates, in the order they run (submit, approve, preview): add yours here."""
        from changecast.actions.preflight_gate import PreflightGate
        from changecast.actions.window_gates import (
            BlackoutGate,
            ConflictGate,
            PastWindowGate,
            SignoffGate,
        )
        from changecast.delivery.router import Topics

        gates: list[Gate] = []
        gates.append(
            PreflightGate(
                preflight=self.preflight,
                directory=self.directory,
                topics=Topics.from_ses_config(self.ses_config),
            )
        )
        gates += [
            PastWindowGate(clock=self.clock),
            BlackoutGate(config=self.config),
            ConflictGate(windows=self.windows),
            SignoffGate(config=self.config, store=self.store),
        ]
        return gates

    @cached_property
    def windows(self) -> SqlWindowIndex:
        """Window queries (conflicts, calendar feeds) on the index."""
        from changecast.index.windows import SqlWindowIndex

        return SqlWindowIndex(self.index.engine)

    @cached_property
    def feed_tokens(self) -> FeedTokens:
        """Calendar-feed tokens; the portal keeps the ones it shows for a minute (feed links)."""
        from changecast.delivery.feed_tokens import CACHE_SECONDS, FeedTokens

        return FeedTokens(self.store, self.clock, cache_seconds=CACHE_SECONDS)

    @cached_property
    def signoff_links(self) -> SignoffLinks | None:
        """Sign-off links, signed with ``link_secret``; None (links left out) without a secret."""
        from datetime import timedelta

        from changecast.access.links import LinkSigner
        from changecast.access.signoff import SignoffLinks

        secret = link_secret(self.settings)
        if secret is None:
            return None
        return SignoffLinks(
            signer=LinkSigner(secret),
            portal_base_url=self.config.email_config.portal_base_url,
            ttl=timedelta(hours=self.settings.links.signoff_hours),
        )

    @cached_property
    def survey_links(self) -> SurveyLinks | None:
        """Post-change survey links, signed with ``link_secret``; None (no surveys) without one."""
        from changecast.access.links import LinkSigner
        from changecast.access.survey import TTL, SurveyLinks

        secret = link_secret(self.settings)
        if secret is None:
            return None
        return SurveyLinks(
            signer=LinkSigner(secret),
            portal_base_url=self.config.email_config.portal_base_url,
            ttl=TTL,
        )


def with_base_url(config: AppConfig, base_url: str | None) -> AppConfig:
    """``config`` whose ``email_config.portal_base_url`` is ``base_url`` (when given).

    The deployment's portal URL wins over config.json's: Terraform knows the host name.
    """
    if not base_url:
        return config
    base = base_url.rstrip("/")
    email = config.email_config
    if email.portal_base_url.rstrip("/") == base:
        return config
    import structlog

    structlog.get_logger().info(
        "portal_base_url_overridden",
        config_json=email.portal_base_url,
        base_url=base,
        hint="CHANGECAST_WEB__BASE_URL wins over config.json's email_config.portal_base_url",
    )
    updated = email.model_copy(update={"portal_base_url": base})
    return config.model_copy(update={"email_config": updated})


def link_secret(settings: Settings) -> str | None:
    """``CHANGECAST_LINKS__SECRET``, else the session secret, else (local mode) ``session.key``.

    Portal and workers must agree on it; a deployed worker without either setting sends
    approval requests without sign-off links (and logs that it does).
    """
    for configured in (settings.links.secret, settings.web.session_secret):
        if configured is not None:
            return configured.get_secret_value()
    if settings.mode != "local":
        return None
    import secrets

    path = settings.data_dir / "session.key"  # the portal's local-mode session secret
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


def with_secrets(runtime: Runtime) -> Runtime:
    """Fill the settings that ``CHANGECAST_SECRETS_ID`` holds and the environment does not."""
    settings = runtime.settings
    if not settings.secrets_id or settings.mode == "local":
        return runtime
    from changecast.aws.config_files import read_secret_fields

    client = runtime.bootstrap_aws.client("secretsmanager")
    found = read_secret_fields(client, settings.secrets_id)
    web, saml, links = settings.web, settings.saml, settings.links
    if "session_secret" in found and web.session_secret is None:
        web = web.model_copy(update={"session_secret": SecretStr(found["session_secret"])})
    if "links_secret" in found and links.secret is None:
        links = links.model_copy(update={"secret": SecretStr(found["links_secret"])})
    if "saml_idp_cert" in found and not saml.idp_cert:
        saml = saml.model_copy(update={"idp_cert": found["saml_idp_cert"]})
    filled = Settings.model_validate(
        {
            **settings.model_dump(),
            "web": _revealed(web),
            "links": _revealed(links),
            "saml": saml.model_dump(),
        }
    )
    return Runtime(settings=filled, local=runtime.local, clock=runtime.clock)


def _revealed(model: BaseModel) -> dict[str, object]:
    """``model`` as a dict whose ``SecretStr`` values are plain (to validate it again)."""
    return {
        name: value.get_secret_value() if isinstance(value, SecretStr) else value
        for name, value in model.model_dump().items()
    }


METADATA_TIMEOUT_SECONDS = 10.0
MAX_METADATA_BYTES = 1024 * 1024


def with_saml_metadata(runtime: Runtime) -> Runtime:
    """Fetch ``CHANGECAST_SAML__IDP_METADATA_URL`` once (https or S3) into the SAML settings."""
    saml = runtime.settings.saml
    url = saml.idp_metadata_url
    if not url or saml.idp_metadata_xml:
        return runtime
    xml = fetch_saml_metadata(runtime, url)
    filled = runtime.settings.model_copy(
        update={"saml": saml.model_copy(update={"idp_metadata_xml": xml})}
    )
    return Runtime(settings=filled, local=runtime.local, clock=runtime.clock)


def fetch_saml_metadata(runtime: Runtime, url: str) -> str:
    """The IdP metadata XML at ``url``; an unreachable or oversized one raises, naming the URL."""
    where = f"CHANGECAST_SAML__IDP_METADATA_URL {url[:300]}"
    if url.startswith("s3://"):
        from changecast.aws.config_files import read_s3_file

        location = ConfigLocation.parse(url, setting="CHANGECAST_SAML__IDP_METADATA_URL")
        client = runtime.bootstrap_aws.client("s3")
        body = read_s3_file(client, location.bucket or "", location.key or "")
    elif url.startswith("https://"):
        import urllib.error
        import urllib.request

        request = urllib.request.Request(url, headers={"Accept": "application/xml"})
        try:
            with urllib.request.urlopen(request, timeout=METADATA_TIMEOUT_SECONDS) as answer:
                body = answer.read(MAX_METADATA_BYTES + 1)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise InvalidInputError(f"{where}: cannot be fetched: {str(reason)[:200]}") from None
    else:
        raise InvalidInputError(f"{where}: give an https:// URL or s3://bucket/key")
    if len(body) > MAX_METADATA_BYTES:
        raise InvalidInputError(f"{where}: larger than {MAX_METADATA_BYTES} bytes")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInputError(f"{where}: not UTF-8 XML") from None


def build_runtime(settings: Settings, *, process: Process = "cli") -> Runtime:
    """The Runtime of one process: its mode settled, its secrets read, what it needs checked."""
    resolved, local = resolve_settings(settings, process=process)
    if resolved.allow_self_approval and resolved.mode != "local":
        raise InvalidInputError(f"{SELF_APPROVAL_REFUSED} (this process runs in aws mode)")
    runtime = with_secrets(Runtime(settings=resolved, local=local))
    if process == "portal":
        runtime = with_saml_metadata(runtime)
    if process != "cli":
        if runtime.settings.dev_login and runtime.settings.mode != "local":
            raise InvalidInputError(
                "CHANGECAST_DEV_LOGIN lets anyone sign in as anyone; it is refused outside "
                "local mode (this process runs in aws mode)"
            )
        runtime.settings.require_for(process)
    return runtime

"""Process settings from ``CHANGECAST_*`` environment variables, built once by each entry point."""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from changecast.errors import InvalidInputError
from changecast.identity_settings import CommaList, SamlSettings, split_list

Mode = Literal["local", "aws"]
_S3_URI = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/(?P<key>[^\s]{1,1024})$")


def default_data_dir() -> Path:
    """``$XDG_DATA_HOME/changecast``, else ``~/.local/share/changecast``."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "changecast"


class WebSettings(BaseModel):
    """The portal and API."""

    session_secret: SecretStr | None = None
    session_max_age_seconds: int = Field(default=8 * 3600, ge=60, le=7 * 24 * 3600)
    secure_cookies: bool = True
    max_body_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    session_absolute_seconds: int = Field(default=24 * 3600, ge=300, le=30 * 24 * 3600)
    """A session ends this long after sign-in, however active it is."""
    trusted_proxy_hops: int = Field(default=0, ge=0, le=5)
    """Proxies (e.g. one ALB) whose ``X-Forwarded-For`` entries name the client address."""
    forwarded_allow_ips: CommaList = []
    """Addresses or networks (``10.0.0.0/16``) of the proxies whose ``X-Forwarded-*`` headers
    ``changecast serve`` trusts; empty trusts none. ``*`` is refused: it would let any client
    choose its own address."""
    base_url: str | None = Field(default=None, pattern=r"^https?://[^\s/]+(:[0-9]+)?/?$")
    """``CHANGECAST_WEB__BASE_URL``: the portal's public URL (``https://changes.example.com``).
    When set it wins over config.json's ``email_config.portal_base_url`` in every process (SAML
    SP defaults, links in emails, calendar feeds): the host name is a deployment fact."""
    streaming: bool = True
    api_docs: bool | None = None
    """``/docs`` (Swagger UI); unset means on in local mode, off elsewhere."""
    """Stream per-customer submit results; off where the host buffers whole answers (Lambda)."""

    @field_validator("forwarded_allow_ips", mode="before")
    @classmethod
    def _split_proxies(cls, value: object) -> object:
        return split_list(value)

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _valid_proxies(cls, value: list[str]) -> list[str]:
        for entry in value:
            if entry == "*":
                raise ValueError("'*' would trust every client's X-Forwarded-For; list the proxies")
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"{entry[:60]!r} is not an IP address or network") from None
        return value


class DeliverySettings(BaseModel):
    """The delivery worker: ledger table, template overrides, leases and polling."""

    ledger_table: str = Field(default="changecast-ledger", pattern=r"^[A-Za-z0-9_.-]{3,255}$")
    templates_dir: Path | None = None
    lease_seconds: float = Field(default=60.0, gt=0, le=3600)
    wait_seconds: int = Field(default=20, ge=0, le=20)
    batch_size: int = Field(default=10, ge=1, le=10)
    default_send_rate: float = Field(default=1.0, gt=0, le=10_000)
    max_receive_count: int = Field(default=5, ge=1, le=1_000)
    """The queue's maxReceiveCount (Terraform's ``max_receive_count``); the queue's own redrive
    policy wins when the worker can read it. The last receives record a failure first."""


class EventsSettings(BaseModel):
    """The SES events worker: the hub ``ses-events`` queue (``CHANGECAST_EVENTS__QUEUE_URL``)."""

    queue_url: str | None = Field(default=None, pattern=r"^https?://\S+$")
    """Needed by ``changecast events run``; the Lambda gets its records from the event source."""
    wait_seconds: int = Field(default=20, ge=0, le=20)


class SchedulerSettings(BaseModel):
    """The scheduler tick (reminders, window notices, nudges): EventBridge or ``local up``."""

    interval_seconds: float = Field(default=60.0, gt=0, le=3600)
    """How often ``local up``'s scheduler thread ticks (EventBridge ticks every minute)."""
    catch_up_hours: float = Field(default=6.0, gt=0, le=24 * 7)
    """A notice whose moment passed longer ago than this is not sent (after a long outage)."""
    reminder_minutes: float | None = Field(default=None, ge=0, le=24 * 60 * 14)
    """Overrides every customer's ``reminder_hours`` (a local experiment: a 1-minute lead)."""


class LinkSettings(BaseModel):
    """Signed one-click links (customer sign-off, surveys): their key and lifetime."""

    secret: SecretStr | None = None
    """``CHANGECAST_LINKS__SECRET``: the key links are signed with (per purpose, derived); unset,
    the session secret is used. Portal and workers must share it."""
    signoff_hours: int = Field(default=7 * 24, ge=1, le=90 * 24)
    """How long a sign-off link lives after its version was written (a new version ends it)."""


class MetricsSettings(BaseModel):
    """CloudWatch metrics (EMF in aws mode; log lines in local mode)."""

    namespace: str = Field(
        default_factory=lambda: os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "changecast",
        min_length=1,
        max_length=255,
    )
    portal_flush_seconds: float = Field(default=60.0, ge=0, le=3600)
    """How often a long-running portal writes its aggregated request metrics (0: every request;
    the portal Lambda always flushes per request)."""


@dataclass(frozen=True)
class ConfigLocation:
    """Where a configuration file is: a local path, or an object in S3 (``s3://bucket/key``)."""

    path: Path | None = None
    bucket: str | None = None
    key: str | None = None

    @classmethod
    def parse(cls, value: str | Path, *, setting: str = "CHANGECAST_CONFIG") -> ConfigLocation:
        text = str(value).strip()
        if text.startswith("s3://"):
            found = _S3_URI.match(text)
            if found is None:
                raise InvalidInputError(
                    f"{setting}: {text[:200]!r} is not an S3 URI of the form s3://bucket/key"
                )
            return cls(bucket=found["bucket"], key=found["key"])
        if "://" in text:
            raise InvalidInputError(
                f"{setting}: {text[:200]!r}: give a file path or s3://bucket/key"
            )
        return cls(path=Path(text).expanduser())

    @property
    def is_s3(self) -> bool:
        return self.bucket is not None

    def sibling(self, name: str) -> ConfigLocation:
        """The file ``name`` in the same folder (or S3 prefix)."""
        if self.path is not None:
            return ConfigLocation(path=self.path.with_name(name))
        prefix = (self.key or "").rpartition("/")[0]
        return ConfigLocation(bucket=self.bucket, key=f"{prefix}/{name}" if prefix else name)

    def __str__(self) -> str:
        return str(self.path) if self.path is not None else f"s3://{self.bucket}/{self.key}"


SELF_APPROVAL_REFUSED = (
    "CHANGECAST_ALLOW_SELF_APPROVAL lets the author of a change approve it (no four eyes); it is "
    "refused outside local mode"
)


class Settings(BaseSettings):
    """Everything a process needs to know that is not in config.json.

    ``mode`` says where AWS is: ``aws`` (real AWS, or the endpoint in ``aws_endpoint_url``) or
    ``local`` (the embedded system that ``local up`` runs). Unset, deployed processes take
    ``aws`` and only CLI commands look for a running ``local up`` on their data directory.
    """

    model_config = SettingsConfigDict(
        env_prefix="CHANGECAST_", env_nested_delimiter="__", extra="ignore"
    )

    mode: Mode | None = None
    data_dir: Path = Field(default_factory=default_data_dir)
    config: str | None = Field(default=None, max_length=1100)
    """config.json: a file path or ``s3://bucket/key``."""
    ses_config: str | None = Field(default=None, max_length=1100)
    """SESConfig.json (path or S3 URI); default: ``SESConfig.json`` beside config.json."""
    secrets_id: str | None = Field(default=None, max_length=2048)
    """The runtime secret (Secrets Manager id or ARN) whose JSON gives ``session_secret``,
    ``links_secret`` and ``saml_idp_cert`` (docs/runbooks/secret-schema.md)."""
    database_url: str | None = None
    """The index: ``postgresql+psycopg://host:5432/db`` (credentials from
    ``database_secret_id``), or a URL with its own credentials (local, tests), or SQLite."""
    database_secret_id: str | None = Field(default=None, max_length=2048)
    """The RDS-managed master secret (``{"username", "password"}``) new connections log in with;
    re-read when the database refuses the password (rotation)."""
    aws_endpoint_url: str | None = None
    actor: str | None = Field(default=None, max_length=200)
    trigger_concurrency: int = Field(default=8, ge=1, le=64)
    web: WebSettings = Field(default_factory=WebSettings)
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    links: LinkSettings = Field(default_factory=LinkSettings)
    scheduler: SchedulerSettings = Field(default_factory=SchedulerSettings)
    events: EventsSettings = Field(default_factory=EventsSettings)
    saml: SamlSettings = Field(default_factory=SamlSettings)
    dev_login: bool | None = None
    """``POST /auth/dev-login`` without an IdP; local mode only (default on there)."""
    allow_self_approval: bool = False
    """``CHANGECAST_ALLOW_SELF_APPROVAL``: let a version's authors approve it (four eyes off).

    Off by default in every mode; refused outside local mode."""

    @field_validator("config", "ses_config", mode="before")
    @classmethod
    def _location_text(cls, value: object) -> object:
        return str(value) if isinstance(value, Path) else value

    @model_validator(mode="after")
    def _secrets_outside_local(self) -> Settings:
        secret = self.web.session_secret
        if self.mode != "local" and secret is not None:
            value = secret.get_secret_value()
            if len(value) < 32 or value.lower() in {"changeme", "secret", "change-me"}:
                raise ValueError(
                    "CHANGECAST_WEB__SESSION_SECRET must be at least 32 random characters"
                )
        return self

    @model_validator(mode="after")
    def _one_source_of_database_credentials(self) -> Settings:
        if self.database_secret_id and self.database_url:
            from urllib.parse import urlsplit

            parts = urlsplit(self.database_url)
            if not parts.scheme.startswith("postgresql"):
                raise ValueError("CHANGECAST_DATABASE_SECRET_ID needs a postgresql database URL")
            if "@" in parts.netloc:
                raise ValueError(
                    "CHANGECAST_DATABASE_URL names a user or password while "
                    "CHANGECAST_DATABASE_SECRET_ID is set; give the URL without credentials "
                    "(postgresql+psycopg://host:5432/db): they come from the secret"
                )
        if self.database_secret_id and not self.database_url:
            raise ValueError(
                "CHANGECAST_DATABASE_SECRET_ID is set without CHANGECAST_DATABASE_URL "
                "(postgresql+psycopg://host:5432/db)"
            )
        return self

    @model_validator(mode="after")
    def _dev_login_only_local(self) -> Settings:
        if self.dev_login and self.mode == "aws":
            raise ValueError(
                "CHANGECAST_DEV_LOGIN lets anyone sign in as anyone; it is refused outside "
                "local mode"
            )
        return self

    @model_validator(mode="after")
    def _self_approval_only_local(self) -> Settings:
        if self.allow_self_approval and self.mode == "aws":
            raise ValueError(SELF_APPROVAL_REFUSED)
        return self

    @property
    def dev_login_enabled(self) -> bool:
        """Dev login exists only in local mode, whatever the flag says elsewhere."""
        return self.mode == "local" and self.dev_login is not False

    @property
    def self_approval_allowed(self) -> bool:
        """Four eyes relaxed: only when asked for, and only in local mode."""
        return self.allow_self_approval and self.mode == "local"

    @property
    def config_location(self) -> ConfigLocation:
        if self.config:
            return ConfigLocation.parse(self.config)
        return ConfigLocation(path=self.data_dir / "config.json")

    @property
    def ses_config_location(self) -> ConfigLocation:
        if self.ses_config:
            return ConfigLocation.parse(self.ses_config, setting="CHANGECAST_SES_CONFIG")
        return self.config_location.sibling("SESConfig.json")

    @property
    def config_path(self) -> Path:
        """config.json on disk (local mode and tests); an S3 location has no path."""
        location = self.config_location
        if location.path is None:
            raise InvalidInputError(f"config.json is in S3 ({location}), not a local file")
        return location.path

    def missing_for(self, process: Literal["portal", "worker"]) -> list[str]:
        """What an ``aws``-mode ``process`` cannot start without, each with why."""
        if self.mode == "local":
            return []
        missing = []
        if process == "portal" and self.web.session_secret is None:
            missing.append(
                "CHANGECAST_WEB__SESSION_SECRET (signs session cookies; 32+ random characters, "
                "or session_secret in CHANGECAST_SECRETS_ID)"
            )
        if not self.database_url:
            missing.append(
                "CHANGECAST_DATABASE_URL (the index, postgresql+psycopg://host:5432/db, with "
                "CHANGECAST_DATABASE_SECRET_ID naming the RDS-managed secret)"
            )
        if not self.config:
            missing.append("CHANGECAST_CONFIG (config.json: a path or s3://bucket/key)")
        return missing

    def require_for(self, process: Literal["portal", "worker"]) -> None:
        """Refuse to start an ``aws``-mode ``process`` that lacks a setting it needs."""
        missing = self.missing_for(process)
        if missing:
            raise InvalidInputError(
                f"the {process} cannot start in aws mode without: " + "; ".join(missing)
            )

    @property
    def index_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'index.db'}"


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment (and ``overrides``); bad values name the variable."""
    from pydantic import ValidationError

    from changecast.errors import problems_from_pydantic

    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = problems_from_pydantic(exc.errors(), prefix="CHANGECAST")
        text = "; ".join(f"{p.field}: {p.problem}" for p in problems)
        raise InvalidInputError(f"invalid settings: {text}", details=problems) from None

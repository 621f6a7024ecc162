"""Process settings from ``CHANGECAST_*`` environment variables, built once by each entry point."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from changecast.identity_settings import SamlSettings


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


class DeliverySettings(BaseModel):
    """The delivery worker: ledger table, template overrides, leases and polling."""

    ledger_table: str = Field(default="changecast-ledger", pattern=r"^[A-Za-z0-9_.-]{3,255}$")
    templates_dir: Path | None = None
    lease_seconds: float = Field(default=60.0, gt=0, le=3600)
    wait_seconds: int = Field(default=20, ge=0, le=20)
    batch_size: int = Field(default=10, ge=1, le=10)
    default_send_rate: float = Field(default=1.0, gt=0, le=10_000)


class Settings(BaseSettings):
    """Everything a process needs to know that is not in config.json.

    ``mode`` is ``local`` when running against the embedded system started by ``local up``.
    """

    model_config = SettingsConfigDict(
        env_prefix="CHANGECAST_", env_nested_delimiter="__", extra="ignore"
    )

    mode: Literal["local", "aws"] = "aws"
    data_dir: Path = Field(default_factory=default_data_dir)
    config: Path | None = None
    ses_config: Path | None = None
    database_url: str | None = None
    aws_endpoint_url: str | None = None
    actor: str | None = Field(default=None, max_length=200)
    trigger_concurrency: int = Field(default=8, ge=1, le=64)
    web: WebSettings = Field(default_factory=WebSettings)
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)
    saml: SamlSettings = Field(default_factory=SamlSettings)
    dev_login: bool | None = None
    """``POST /auth/dev-login`` without an IdP; local mode only (default on there)."""
    allow_self_approval: bool | None = None
    """Whether a change's creator may approve it; default: only in local mode."""

    @model_validator(mode="after")
    def _secrets_outside_local(self) -> Settings:
        secret = self.web.session_secret
        if self.mode == "aws" and secret is not None:
            value = secret.get_secret_value()
            if len(value) < 32 or value.lower() in {"changeme", "secret", "change-me"}:
                raise ValueError(
                    "CHANGECAST_WEB__SESSION_SECRET must be at least 32 random characters"
                )
        return self

    @model_validator(mode="after")
    def _dev_login_only_local(self) -> Settings:
        if self.dev_login and self.mode != "local":
            raise ValueError(
                "CHANGECAST_DEV_LOGIN lets anyone sign in as anyone; it is refused outside "
                "local mode"
            )
        return self

    @property
    def dev_login_enabled(self) -> bool:
        """Dev login exists only in local mode, whatever the flag says elsewhere."""
        return self.mode == "local" and self.dev_login is not False

    @property
    def self_approval_allowed(self) -> bool:
        if self.allow_self_approval is not None:
            return self.allow_self_approval
        return self.mode == "local"

    @property
    def config_path(self) -> Path:
        return self.config or self.data_dir / "config.json"

    @property
    def ses_config_path(self) -> Path:
        return self.ses_config or self.config_path.with_name("SESConfig.json")

    @property
    def index_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'index.db'}"

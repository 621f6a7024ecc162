"""Process settings from ``CHANGECAST_*`` environment variables, built once by each entry point."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


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

    @property
    def config_path(self) -> Path:
        return self.config or self.data_dir / "config.json"

    @property
    def ses_config_path(self) -> Path:
        return self.ses_config or self.config_path.with_name("SESConfig.json")

    @property
    def index_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'index.db'}"

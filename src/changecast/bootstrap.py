"""The composition root: builds adapters from settings and wires them into the domain services."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import boto3

from changecast.audit.service import AuditTrail
from changecast.aws.s3 import S3ObjectStore
from changecast.aws.sessions import AwsClients, AwsTarget
from changecast.changes.archive import ChangeArchive
from changecast.changes.context import ChangeDeps
from changecast.customers.directory import CustomerDirectory, load_app_config
from changecast.customers.models import AppConfig
from changecast.local.runtime import (
    LOCAL_ACCESS_KEY,
    LOCAL_SECRET_KEY,
    LocalRuntime,
    read_running,
)
from changecast.ports import Clock, SystemClock
from changecast.settings import Settings

if TYPE_CHECKING:
    from changecast.index.access_store import SqlSigninStore, SqlTokenStore
    from changecast.index.audit_store import SqlAuditIndex
    from changecast.index.store import SqlChangeIndex


def resolve_settings(settings: Settings) -> tuple[Settings, LocalRuntime | None]:
    """Switch to local mode (and its endpoint) when ``local up`` runs on this data directory."""
    local = read_running(settings.data_dir)
    if local is None:
        return settings, None
    updated = settings.model_copy(
        update={"mode": "local", "aws_endpoint_url": local.aws_endpoint_url}
    )
    return updated, local


def local_session(region: str) -> boto3.Session:
    """Credentials for the embedded moto server; never the user's real ones."""
    return boto3.Session(
        aws_access_key_id=LOCAL_ACCESS_KEY,
        aws_secret_access_key=LOCAL_SECRET_KEY,
        region_name=region,
    )


@dataclass
class Runtime:
    """Everything an entry point needs, built lazily from settings and config.json."""

    settings: Settings
    local: LocalRuntime | None = None
    clock: Clock = SystemClock()  # noqa: RUF009 - stateless

    @cached_property
    def config(self) -> AppConfig:
        return load_app_config(self.settings.config_path)

    @cached_property
    def directory(self) -> CustomerDirectory:
        return CustomerDirectory(self.config)

    @cached_property
    def aws(self) -> AwsClients:
        region = self.config.aws_region
        target = AwsTarget(region=region, endpoint_url=self.settings.aws_endpoint_url)
        base = local_session(region) if self.settings.mode == "local" else None
        return AwsClients(target=target, base=base)

    @cached_property
    def store(self) -> S3ObjectStore:
        return S3ObjectStore(self.aws.client("s3"), self.config.s3_config.bucket_name)

    @cached_property
    def archive(self) -> ChangeArchive:
        return ChangeArchive(self.store)

    @cached_property
    def index(self) -> SqlChangeIndex:
        from changecast.index.engine import open_index

        return open_index(self.settings.index_url)

    @cached_property
    def audit_index(self) -> SqlAuditIndex:
        from changecast.index.audit_store import SqlAuditIndex

        return SqlAuditIndex(self.index.engine)

    @cached_property
    def audit(self) -> AuditTrail:
        """Append-only events under ``audit/`` in the bucket, copied into the index."""
        return AuditTrail(store=self.store, index=self.audit_index)

    @cached_property
    def tokens(self) -> SqlTokenStore:
        from changecast.index.access_store import SqlTokenStore

        return SqlTokenStore(self.index.engine)

    @cached_property
    def signins(self) -> SqlSigninStore:
        from changecast.index.access_store import SqlSigninStore

        return SqlSigninStore(self.index.engine)

    @cached_property
    def changes(self) -> ChangeDeps:
        return ChangeDeps(
            archive=self.archive,
            index=self.index,
            directory=self.directory,
            clock=self.clock,
            trigger_concurrency=self.settings.trigger_concurrency,
            audit=self.audit,
            allow_self_approval=self.settings.self_approval_allowed,
        )


def build_runtime(settings: Settings) -> Runtime:
    resolved, local = resolve_settings(settings)
    return Runtime(settings=resolved, local=local)

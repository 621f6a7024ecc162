"""boto3 sessions and clients: the hub's own credentials, and cached assumed-role sessions."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from changecast.aws.errors import aws_call

if TYPE_CHECKING:
    from mypy_boto3_sts import STSClient

REFRESH_BEFORE_EXPIRY = timedelta(minutes=5)
CALL_RETRIES: Mapping[str, Any] = {"mode": "standard", "max_attempts": 4}
"""botocore's retries for most calls: up to four attempts with its own back-off."""
SEND_RETRIES: Mapping[str, Any] = {"mode": "standard", "total_max_attempts": 1}
"""Sending calls make one attempt: the send loop paces and retries them (one retry layer)."""
EventHook = tuple[str, Callable[..., Any]]


@dataclass(frozen=True)
class AwsTarget:
    """Where AWS is: real AWS (``endpoint_url=None``) or an embedded moto server."""

    region: str = "us-east-1"
    endpoint_url: str | None = None


@dataclass
class _Cached:
    session: boto3.Session
    expires: datetime


@dataclass
class AwsClients:
    """Builds clients for the hub account and for assumed customer roles.

    Assumed-role sessions are cached per (role, session name) until shortly before they expire,
    and the cache is safe to use from several threads. ``event_hooks`` are registered on every
    client (benchmarks use them to inject latency).
    """

    target: AwsTarget = field(default_factory=AwsTarget)
    base: boto3.Session | None = None
    event_hooks: tuple[EventHook, ...] = ()
    max_pool_connections: int = 144
    """Above the send loop's most threads (``delivery.pacing.MAX_CONCURRENCY``), which share one
    SES and one DynamoDB client: no sending thread waits for a connection."""
    _cache: dict[tuple[str, str], _Cached] = field(default_factory=dict, repr=False)
    _role_clients: dict[tuple[str, str, str, str | None], tuple[boto3.Session, Any]] = field(
        default_factory=dict, repr=False
    )
    _sts: Any = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _config(self, retries: Mapping[str, Any] | None = None) -> Config:
        return Config(
            retries=dict(retries or CALL_RETRIES),  # type: ignore[arg-type]
            connect_timeout=5,
            read_timeout=30,
            max_pool_connections=self.max_pool_connections,
        )

    def _session(self) -> boto3.Session:
        if self.base is None:
            self.base = boto3.Session(region_name=self.target.region)
        return self.base

    def client(
        self,
        service: str,
        *,
        session: boto3.Session | None = None,
        region: str | None = None,
        retries: Mapping[str, Any] | None = None,
    ) -> Any:
        """A client for ``service`` with the hub's credentials, or with ``session``'s.

        botocore retries each call (``CALL_RETRIES``) unless ``retries`` says otherwise.
        """
        chosen = session or self._session()
        made = chosen.client(
            service,  # type: ignore[call-overload]
            region_name=region or self.target.region,
            endpoint_url=self.target.endpoint_url,
            config=self._config(retries),
        )
        for event, hook in self.event_hooks:
            made.meta.events.register(event, hook)
        return made

    def sending_client(
        self, *, session: boto3.Session | None = None, region: str | None = None
    ) -> Any:
        """SESv2 for SendEmail: one HTTP attempt per call (``SEND_RETRIES``).

        botocore's own retries would bypass the send loop's token bucket (a throttled call
        retried at once, several attempts in one slot); the send loop retries instead, and each
        of its attempts takes a slot and backs off.
        """
        return self.client("sesv2", session=session, region=region, retries=SEND_RETRIES)

    def assume(
        self, role_arn: str, *, session_name: str = "changecast", external_id: str | None = None
    ) -> boto3.Session:
        """A session for ``role_arn``, reused until five minutes before its credentials expire.

        ``external_id`` is sent as ``ExternalId`` (a role whose trust policy asks for one).
        """
        key = (role_arn, session_name)
        now = datetime.now(UTC)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None and cached.expires - REFRESH_BEFORE_EXPIRY > now:
                return cached.session
        sts = self._sts_client()
        with aws_call(f"AssumeRole {role_arn}"):
            if external_id:
                answer = sts.assume_role(
                    RoleArn=role_arn, RoleSessionName=session_name[:64], ExternalId=external_id
                )
            else:
                answer = sts.assume_role(RoleArn=role_arn, RoleSessionName=session_name[:64])
        creds = answer["Credentials"]
        session = boto3.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
            region_name=self.target.region,
        )
        self._share_loader(session)
        expires = creds["Expiration"]
        if expires.tzinfo is None:
            expires = expires.replace(tzinfo=UTC)
        with self._lock:
            self._cache[key] = _Cached(session, expires)
        return session

    def _sts_client(self) -> STSClient:
        """One STS client for every AssumeRole (building a client costs tens of milliseconds)."""
        with self._lock:
            if self._sts is None:
                self._sts = self.client("sts")
            sts: STSClient = self._sts
            return sts

    def _share_loader(self, session: boto3.Session) -> None:
        """Reuse the hub session's botocore data loader.

        Every new boto3 session otherwise parses botocore's JSON service models again (about
        0.1 s of CPU each, serialised by the GIL when many customers run at once).
        """
        loader = self._session()._session.get_component("data_loader")
        session._session.register_component("data_loader", loader)

    def for_role(
        self, role_arn: str, service: str, *, region: str | None = None, session_name: str = ""
    ) -> Any:
        """A client for ``service`` under the assumed ``role_arn``.

        The client is reused while its role session is (boto3 clients are thread-safe), so a
        customer's calls do not each pay for building one; a refreshed session gets a new one.
        """
        name = session_name or "changecast"
        session = self.assume(role_arn, session_name=name)
        key = (role_arn, name, service, region)
        with self._lock:
            cached = self._role_clients.get(key)
            if cached is not None and cached[0] is session:
                return cached[1]
        made = self.client(service, session=session, region=region)
        with self._lock:
            self._role_clients[key] = (session, made)
        return made

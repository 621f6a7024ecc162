"""Pure parts of identity: group-to-role mapping, settings guards, sessions, addresses, tokens."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from starlette.requests import Request

from changecast.access.models import Actor, Role
from changecast.access.tokens import ApiToken, authenticate, hash_token
from changecast.access.users import KnownUser
from changecast.actions.tokens import create_token
from changecast.identity_settings import RoleMappingSettings
from changecast.settings import Settings
from changecast.web.auth.address import client_address
from changecast.web.auth.csrf import csrf_token
from changecast.web.auth.roles import Grant, grant_for
from changecast.web.auth.session import SessionCodec
from tests.fakes.audit import ListAuditSink

CUSTOMERS = ["acme", "globex", "initech"]
ACME, ACME_GLOBEX = frozenset({"acme"}), frozenset({"acme", "globex"})


@pytest.mark.parametrize(
    ("groups", "grant"),
    [
        (["ccoe-change-managers", "ccoe-readonly"], Grant(Role.CHANGE_MANAGER)),
        (["ccoe-customer-acme", "ccoe-customer-globex"], Grant(Role.CUSTOMER_MANAGER, ACME_GLOBEX)),
        (["ccoe-customer-umbrella"], None),
        (["ccoe-customer-acme", "ccoe-auditors"], Grant(Role.CUSTOMER_MANAGER, ACME)),
        (["ccoe-auditors", "ccoe-readonly"], Grant(Role.AUDITOR)),
        (["ccoe-readonly"], Grant(Role.READ_ONLY)),
        (["ccoe-customer-"], None),
        (["9a1b-id"], Grant(Role.CUSTOMER_MANAGER, frozenset({"initech"}))),
        ([], None),
        (["Everyone"], None),
    ],
)  # fmt: skip
def test_groups_grant_the_strongest_role(groups: list[str], grant: Grant | None) -> None:
    mapping = RoleMappingSettings(customer_manager_groups={"9a1b-id": ["initech", "unknown"]})
    assert grant_for(groups, mapping, CUSTOMERS) == grant


def test_role_mapping_reads_comma_lists_and_checks_the_pattern() -> None:
    mapping = RoleMappingSettings.model_validate(
        {"auditor_groups": "audit-a, audit-b", "customer_manager_groups": {"g": "acme,globex"}}
    )
    assert mapping.auditor_groups == ["audit-a", "audit-b"]
    assert mapping.customer_manager_groups == {"g": ["acme", "globex"]}
    with pytest.raises(ValidationError):
        RoleMappingSettings(customer_manager_pattern="customers-of-everyone")


def test_dev_login_is_refused_outside_local_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHANGECAST_DEV_LOGIN", "true")
    with pytest.raises(ValidationError, match="refused outside local mode"):
        Settings(mode="aws")
    assert Settings(mode="local").dev_login_enabled is True
    assert Settings(mode="local", dev_login=False).dev_login_enabled is False
    assert Settings(mode="aws", dev_login=False).dev_login_enabled is False


def test_self_approval_is_off_by_default_and_refused_outside_local_mode(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings(mode="local").self_approval_allowed is False
    assert Settings(mode="aws").self_approval_allowed is False
    monkeypatch.setenv("CHANGECAST_ALLOW_SELF_APPROVAL", "true")
    assert Settings(mode="local").self_approval_allowed is True
    with pytest.raises(ValidationError, match=r"ALLOW_SELF_APPROVAL .* refused outside local"):
        Settings(mode="aws")
    assert Settings().self_approval_allowed is False  # mode unset: never relaxed until it is local


def test_saml_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHANGECAST_SAML__ALLOWED_EMAIL_DOMAINS", "Example.com, @ccoe.example.com")
    monkeypatch.setenv("CHANGECAST_SAML__IDP_ENTITY_ID", "https://portal.sso.example/saml")
    monkeypatch.setenv("CHANGECAST_SAML__ROLES__READ_ONLY_GROUPS", "viewers")
    saml = Settings(mode="aws").saml
    assert saml.allowed_email_domains == ["example.com", "ccoe.example.com"]
    assert saml.roles.read_only_groups == ["viewers"]
    assert saml.clock_skew_seconds == 120 and saml.configured is False


def _request(peer: str, forwarded: list[str]) -> Request:
    headers = [(b"x-forwarded-for", value.encode()) for value in forwarded]
    return Request({"type": "http", "headers": headers, "client": (peer, 1234)})


@pytest.mark.parametrize(
    ("hops", "forwarded", "address"),
    [
        (0, ["1.1.1.1"], "10.0.0.2"),
        (1, ["6.6.6.6, 203.0.113.9"], "203.0.113.9"),
        (2, ["6.6.6.6, 203.0.113.9", "10.0.0.9"], "203.0.113.9"),
        (1, [], "10.0.0.2"),
        (1, ["not-an-ip"], "10.0.0.2"),
    ],
)
def test_client_address_trusts_only_the_configured_proxies(
    hops: int, forwarded: list[str], address: str
) -> None:
    assert client_address(_request("10.0.0.2", forwarded), hops) == address


def test_sessions_refresh_keep_their_id_and_end_at_the_absolute_limit() -> None:
    codec = SessionCodec(secret="s" * 40, max_age=600, secure=True, absolute_max_age=3600)
    actor = Actor(email="a@ccoe.example.com", role=Role.READ_ONLY)
    data = codec.new_session(actor)
    assert codec.decode(codec.encode(data)) == data
    refreshed = codec.refreshed(data)
    assert refreshed.sid == data.sid and refreshed.started == data.started
    old = data.model_copy(update={"started": time.time() - 3601, "issued": time.time()})
    assert codec.decode(codec.encode(old)) is None
    forged = SessionCodec(secret="t" * 40, max_age=600, secure=True).encode(data)
    assert codec.decode(forged) is None
    other = codec.new_session(actor)
    assert csrf_token(codec.secret, data.sid) != csrf_token(codec.secret, other.sid)


class MemoryTokens:
    def __init__(self) -> None:
        self.rows: dict[str, tuple[ApiToken, str]] = {}

    def add(self, token: ApiToken, token_hash: str) -> None:
        self.rows[token.token_id] = (token, token_hash)

    def by_hash(self, token_hash: str) -> ApiToken | None:
        return next((t for t, h in self.rows.values() if h == token_hash), None)

    def owned_by(self, email: str) -> list[ApiToken]:
        return [t for t, _ in self.rows.values() if t.email == email]

    def revoke(self, token_id: str, at: datetime) -> None:
        token, token_hash = self.rows[token_id]
        self.rows[token_id] = (token.model_copy(update={"revoked_at": at}), token_hash)

    def touch(self, token_id: str, at: datetime) -> None:
        token, token_hash = self.rows[token_id]
        self.rows[token_id] = (token.model_copy(update={"last_used_at": at}), token_hash)


class Clock:
    def __init__(self) -> None:
        self.at = datetime(2030, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at


def test_tokens_expire_and_act_as_their_owner() -> None:
    store, clock, sink = MemoryTokens(), Clock(), ListAuditSink()
    owner = Actor(
        email="o@ccoe.example.com", role=Role.CUSTOMER_MANAGER, customers=frozenset({"acme"})
    )
    token, secret = create_token(
        store=store, actor=owner, name="ci", clock=clock, audit=sink, ttl_days=1
    )
    assert store.rows[token.token_id][1] == hash_token(secret) != secret
    found = authenticate(store=store, secret=secret, clock=clock)
    now = KnownUser(email=owner.email, role=owner.role, customers=["acme"], updated_at=clock.at)
    assert found is not None and found.actor(now) == owner
    clock.at += timedelta(days=1)
    assert authenticate(store=store, secret=secret, clock=clock) is None
    assert authenticate(store=store, secret="not-ours", clock=clock) is None
    assert [e.detail["token_id"] for e in sink.events] == [token.token_id]

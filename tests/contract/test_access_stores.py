"""Identity stores (audit index, API tokens, SAML replay cache, sessions) on both databases."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from changecast.access.models import Actor, Role
from changecast.access.tokens import ApiToken
from changecast.audit.models import AuditAction, AuditQuery
from changecast.audit.service import new_event
from changecast.index import audit_store
from changecast.index.access_store import SqlSigninStore, SqlTokenStore
from changecast.index.audit_store import SqlAuditIndex
from changecast.index.engine import drop_schema, open_index
from tests.contract.conftest import POSTGRES_URL

NOW = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


@pytest.fixture(scope="module")
def postgres_engine() -> Iterator[Engine]:
    schema = f"t_{uuid.uuid4().hex[:16]}"
    opened = open_index(POSTGRES_URL, schema=schema)
    try:
        yield opened.engine
    finally:
        opened.close()
        drop_schema(POSTGRES_URL, schema)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated index database; tests use fresh ids, so the PostgreSQL one is shared."""
    if request.param == "postgres":
        yield request.getfixturevalue("postgres_engine")
        return
    opened = open_index(f"sqlite:///{tmp_path / 'index.db'}")
    yield opened.engine
    opened.close()


def test_audit_index_adds_once_filters_pages_and_iterates_in_order(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = SqlAuditIndex(engine)
    actor = Actor(email=f"{uuid.uuid4().hex[:8]}@ccoe.example.com", role=Role.CHANGE_MANAGER)
    change = str(uuid.uuid4())
    events = [
        new_event(
            actor=actor,
            action=AuditAction.EDIT if n % 2 else AuditAction.CREATE,
            clock=Clock(NOW + timedelta(seconds=n // 2)),  # pairs share an instant
            change_id=change,
            version=n,
        )
        for n in range(7)
    ]
    for event in [*events, events[0]]:
        index.add(event)
    mine = AuditQuery(actor=actor.email.upper())
    assert index.find(mine).total == 7
    newest = index.find(mine.model_copy(update={"page_size": 3})).items
    assert len(newest) == 3 and newest[0].version == 6
    edits = index.find(AuditQuery(change_id=change, action=AuditAction.EDIT))
    assert sorted(e.version or 0 for e in edits.items) == [1, 3, 5]
    window = AuditQuery(
        change_id=change,
        starts_from=NOW + timedelta(seconds=1),
        ends_before=NOW + timedelta(seconds=3),
    )
    assert sorted(e.version or 0 for e in index.find(window).items) == [2, 3, 4, 5]
    monkeypatch.setattr(audit_store, "EXPORT_BATCH", 2)
    ordered = list(index.iterate(AuditQuery(change_id=change)))
    assert [e.event_id for e in ordered] == [
        e.event_id for e in sorted(events, key=lambda e: (e.at, e.event_id))
    ]
    assert ordered[0].at == NOW and ordered[0].at.tzinfo is not None


def test_token_store_keeps_hashes_lists_newest_first_revokes_and_touches(engine: Engine) -> None:
    store = SqlTokenStore(engine)
    email = f"{uuid.uuid4().hex[:8]}@ccoe.example.com"

    def token(days: int) -> ApiToken:
        return ApiToken(
            token_id=str(uuid.uuid4()),
            name=f"t{days}",
            email=email,
            role=Role.CUSTOMER_MANAGER,
            customers=["acme"],
            created_at=NOW + timedelta(days=days),
            expires_at=NOW + timedelta(days=days + 30),
        )

    old, new = token(0), token(1)
    store.add(old, "a" * 64)
    store.add(new, uuid.uuid4().hex * 2)
    assert [t.name for t in store.owned_by(email)] == ["t1", "t0"]
    assert store.by_hash("a" * 64) == old
    assert store.by_hash("b" * 64) is None
    store.touch(old.token_id, NOW + timedelta(hours=1))
    store.revoke(old.token_id, NOW + timedelta(hours=2))
    store.revoke(old.token_id, NOW + timedelta(hours=3))  # the first revocation stands
    found = store.by_hash("a" * 64)
    assert found is not None
    assert found.last_used_at == NOW + timedelta(hours=1)
    assert found.revoked_at == NOW + timedelta(hours=2)
    assert found.customers == ["acme"] and found.role is Role.CUSTOMER_MANAGER


def test_replay_cache_refuses_a_second_use_until_the_assertion_expires(engine: Engine) -> None:
    store = SqlSigninStore(engine)
    assertion = f"_{uuid.uuid4().hex}"
    until = NOW + timedelta(minutes=5)
    assert store.first_use(assertion, until, NOW) is True
    assert store.first_use(assertion, until, NOW + timedelta(minutes=1)) is False
    later = NOW + timedelta(minutes=6)  # expired ids are pruned; the assertion is dead anyway
    assert store.first_use(f"_{uuid.uuid4().hex}", later + timedelta(minutes=5), later) is True
    assert store.first_use(assertion, later + timedelta(minutes=5), later) is True


def test_pending_requests_are_taken_once_and_expire(engine: Engine) -> None:
    store = SqlSigninStore(engine)
    relay, stale = uuid.uuid4().hex, uuid.uuid4().hex
    store.remember_request(relay, "ONELOGIN_1", "/search", NOW + timedelta(minutes=10))
    store.remember_request(stale, "ONELOGIN_2", "/", NOW - timedelta(seconds=1))
    assert store.take_request(relay, NOW) == ("ONELOGIN_1", "/search")
    assert store.take_request(relay, NOW) is None
    assert store.take_request(stale, NOW) is None


def test_ended_sessions_are_refused_until_their_cookie_would_expire(engine: Engine) -> None:
    store = SqlSigninStore(engine)
    sid = uuid.uuid4().hex
    assert store.session_ended(sid, NOW) is False
    store.end_session(sid, NOW + timedelta(hours=1))
    store.end_session(sid, NOW + timedelta(hours=1))
    assert store.session_ended(sid, NOW) is True
    store.prune(NOW + timedelta(hours=2))
    assert store.session_ended(sid, NOW) is False


def test_user_store_keeps_one_current_grant_per_email_in_any_case(engine: Engine) -> None:
    from changecast.access.users import disable_user, record_grant
    from changecast.index.access_store import SqlUserStore

    users = SqlUserStore(engine)
    email = f"{uuid.uuid4().hex[:8]}@ccoe.example.com"
    assert users.get(email) is None
    manager = Actor(email=email.upper(), display_name="U", role=Role.CHANGE_MANAGER)
    record_grant(users, manager, at=NOW)
    reader = Actor(email=email, role=Role.CUSTOMER_MANAGER, customers=frozenset({"b", "a"}))
    record_grant(users, reader, at=NOW + timedelta(hours=1), by="ops@ccoe.example.com")
    found = users.get(email.upper())
    assert found is not None
    assert (found.email, found.role, found.customers) == (email, Role.CUSTOMER_MANAGER, ["a", "b"])
    assert (found.updated_by, found.active) == ("ops@ccoe.example.com", True)
    assert [u.email for u in users.all()].count(email) == 1
    removed = disable_user(users, email, at=NOW + timedelta(hours=2), by="ops@ccoe.example.com")
    again = users.get(email)
    assert again == removed and again is not None and not again.active
    record_grant(users, reader, at=NOW + timedelta(hours=3))  # a new sign-in restores access
    restored = users.get(email)
    assert restored is not None and restored.active


def test_a_token_stored_before_0003_loads_and_follows_its_owner(tmp_path: Path) -> None:
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    from changecast.access.users import KnownUser
    from changecast.index.access_store import SqlUserStore
    from changecast.index.access_tables import api_tokens
    from changecast.index.engine import MIGRATIONS, create_index_engine, run_migrations

    engine = create_index_engine(f"sqlite:///{tmp_path / 'old.db'}")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0002_access")
        old = {
            "token_id": str(uuid.uuid4()),
            "token_hash": "f" * 64,
            "name": "legacy",
            "email": "legacy@ccoe.example.com",
            "display_name": "Legacy",
            "role": "ChangeManager",
            "customers": [],
            "created_at": NOW,
        }
        connection.execute(api_tokens.insert().values(**old))
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == (
            "0002_access"
        )
    run_migrations(engine)
    token = SqlTokenStore(engine).by_hash("f" * 64)
    assert token is not None and token.role is Role.CHANGE_MANAGER
    SqlUserStore(engine).put(
        KnownUser(email="legacy@ccoe.example.com", role=Role.READ_ONLY, updated_at=NOW)
    )
    owner = SqlUserStore(engine).get("legacy@ccoe.example.com")
    assert token.actor(owner).role is Role.READ_ONLY  # the stored role narrows, never widens
    engine.dispose()

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

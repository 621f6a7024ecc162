"""Identity state in the index: API tokens, SAML replay cache, pending sign-ins, ended sessions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from changecast.access.tokens import ApiToken
from changecast.access.users import KnownUser
from changecast.index.access_tables import (
    api_tokens,
    ended_sessions,
    known_users,
    saml_assertions,
    saml_requests,
)


class SqlTokenStore:
    """The TokenStore port: one row per token, keyed by id, unique by the secret's hash."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, token: ApiToken, token_hash: str) -> None:
        row = token.model_dump()
        row["role"] = token.role.value
        with self.engine.begin() as conn:
            conn.execute(api_tokens.insert().values(token_hash=token_hash, **row))

    def by_hash(self, token_hash: str) -> ApiToken | None:
        statement = select(api_tokens).where(api_tokens.c.token_hash == token_hash)
        with self.engine.connect() as conn:
            row = conn.execute(statement).mappings().first()
        return None if row is None else _token(row)

    def owned_by(self, email: str) -> list[ApiToken]:
        statement = (
            select(api_tokens)
            .where(api_tokens.c.email == email)
            .order_by(api_tokens.c.created_at.desc())
        )
        with self.engine.connect() as conn:
            return [_token(row) for row in conn.execute(statement).mappings()]

    def revoke(self, token_id: str, at: datetime) -> None:
        statement = (
            update(api_tokens)
            .where(api_tokens.c.token_id == token_id, api_tokens.c.revoked_at.is_(None))
            .values(revoked_at=at)
        )
        with self.engine.begin() as conn:
            conn.execute(statement)

    def touch(self, token_id: str, at: datetime) -> None:
        statement = update(api_tokens).where(api_tokens.c.token_id == token_id)
        with self.engine.begin() as conn:
            conn.execute(statement.values(last_used_at=at))


def _token(row: Any) -> ApiToken:
    data = {key: row[key] for key in row if key != "token_hash"}
    return ApiToken.model_validate(data)


class SqlUserStore:
    """The UserStore port: one row per user, keyed by the lower-cased email."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, email: str) -> KnownUser | None:
        statement = select(known_users).where(known_users.c.email == email.strip().lower())
        with self.engine.connect() as conn:
            row = conn.execute(statement).mappings().first()
        return None if row is None else KnownUser.model_validate(dict(row))

    def put(self, user: KnownUser) -> None:
        row = user.model_dump()
        row["email"] = user.email.strip().lower()
        row["role"] = user.role.value
        dialect: Any = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        insert = dialect.insert(known_users).values(**row)
        changed = {key: insert.excluded[key] for key in row if key != "email"}
        with self.engine.begin() as conn:
            conn.execute(insert.on_conflict_do_update(index_elements=["email"], set_=changed))

    def all(self) -> list[KnownUser]:
        statement = select(known_users).order_by(known_users.c.email)
        with self.engine.connect() as conn:
            return [KnownUser.model_validate(dict(r)) for r in conn.execute(statement).mappings()]


class SqlSigninStore:
    """Replay cache, SP-initiated requests in flight, and ended sessions."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def first_use(self, assertion_id: str, not_on_or_after: datetime, now: datetime) -> bool:
        """Remember an assertion id; False when it was seen before (a replay)."""
        with self.engine.begin() as conn:
            conn.execute(delete(saml_assertions).where(saml_assertions.c.not_on_or_after < now))
        row = {"assertion_id": assertion_id, "not_on_or_after": not_on_or_after, "seen_at": now}
        try:
            with self.engine.begin() as conn:
                conn.execute(saml_assertions.insert().values(**row))
        except IntegrityError:
            return False
        return True

    def remember_request(
        self, relay_key: str, request_id: str, next_path: str, expires_at: datetime
    ) -> None:
        row = {
            "relay_key": relay_key,
            "request_id": request_id,
            "next_path": next_path,
            "expires_at": expires_at,
        }
        with self.engine.begin() as conn:
            conn.execute(saml_requests.insert().values(**row))

    def take_request(self, relay_key: str, now: datetime) -> tuple[str, str] | None:
        """The (request id, next path) stored under ``relay_key``, removed; None if unknown."""
        table = saml_requests
        with self.engine.begin() as conn:
            conn.execute(delete(table).where(table.c.expires_at < now))
            row = conn.execute(
                select(table.c.request_id, table.c.next_path).where(table.c.relay_key == relay_key)
            ).first()
            if row is None:
                return None
            taken = conn.execute(delete(table).where(table.c.relay_key == relay_key))
            if taken.rowcount != 1:  # another request took it first
                return None
        return str(row.request_id), str(row.next_path)

    def end_session(self, session_id: str, expires_at: datetime) -> None:
        dialect: Any = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        insert = dialect.insert(ended_sessions).values(session_id=session_id, expires_at=expires_at)
        with self.engine.begin() as conn:
            conn.execute(insert.on_conflict_do_nothing(index_elements=["session_id"]))

    def session_ended(self, session_id: str, now: datetime) -> bool:
        table = ended_sessions
        statement = select(table.c.session_id).where(
            table.c.session_id == session_id, table.c.expires_at >= now
        )
        with self.engine.connect() as conn:
            return conn.execute(statement).first() is not None

    def prune(self, now: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(ended_sessions).where(ended_sessions.c.expires_at < now))

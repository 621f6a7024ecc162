"""The database password follows rotation: a real PostgreSQL with scram-sha-256 authentication.

The portal's index logs in with the user and password of the RDS-managed secret (here a moto
Secrets Manager secret). After ``ALTER ROLE … PASSWORD`` and the secret's update, the next
request that needs a new connection is refused with the cached password, re-reads the secret
once and succeeds. The old password is refused by the server, so without re-reading the
request would fail.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from changecast.aws.db_credentials import SecretsManagerDbCredentials
from changecast.bootstrap import Runtime
from changecast.index.engine import SCHEMA_HEAD, create_index_engine, run_migrations
from changecast.web import app as web_app
from changecast.web.asgi import build_portal_runtime
from tests.production.private_postgres import PrivatePostgres, private_postgres
from tests.production.stack import SECRET, Hub, moto_hub

USER = "changecast_rotating"
OLD = "first-password-" + "a" * 24
NEW = "second-password-" + "b" * 24


@pytest.fixture
def postgres() -> Iterator[PrivatePostgres]:
    with private_postgres() as started:
        with psycopg.connect(started.libpq(), autocommit=True) as db:
            db.execute(f"CREATE ROLE {USER} LOGIN PASSWORD '{OLD}'")
            db.execute(f"CREATE DATABASE rotation OWNER {USER}")
        yield PrivatePostgres(started.port, "rotation")


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    with moto_hub(tmp_path) as started:
        started.put_config()
        yield started


def kill_app_connections(postgres: PrivatePostgres) -> int:
    """End the portal's open sessions (as a failover or idle timeout does)."""
    with psycopg.connect(postgres.libpq(), autocommit=True) as db:
        rows = db.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (USER,)
        ).fetchall()
    return len(rows)


def test_the_next_request_after_a_rotation_logs_in_with_the_new_password(
    hub: Hub, postgres: PrivatePostgres, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = create_index_engine(postgres.url(USER, OLD))
    run_migrations(engine)  # the deploy step, done
    engine.dispose()
    secrets = hub.client("secretsmanager")
    arn = secrets.create_secret(
        Name="rds!db-rotation",
        SecretString=json.dumps({"username": USER, "password": OLD, "engine": "postgres"}),
    )["ARN"]
    for name, value in hub.aws_mode_env(
        CHANGECAST_DATABASE_URL=postgres.url(),  # no credentials: they come from the secret
        CHANGECAST_DATABASE_SECRET_ID=arn,
        CHANGECAST_WEB__SESSION_SECRET=SECRET,
    ).items():
        monkeypatch.setenv(name, value)

    runtime = build_portal_runtime()
    credentials = runtime.database_credentials
    assert isinstance(credentials, SecretsManagerDbCredentials)
    try:
        serve_through_a_rotation(runtime, credentials, postgres, hub, arn)
    finally:
        runtime.index.close()


def serve_through_a_rotation(
    runtime: Runtime,
    credentials: SecretsManagerDbCredentials,
    postgres: PrivatePostgres,
    hub: Hub,
    arn: str,
) -> None:
    secrets = hub.client("secretsmanager")
    with TestClient(web_app.create_app(runtime)) as client:
        first = client.get("/api/health/ready")
        assert first.status_code == 200, first.text
        assert first.json()["checks"]["index"]["detail"] == f"schema {SCHEMA_HEAD}"
        assert credentials.reads == 1

        with psycopg.connect(postgres.libpq(), autocommit=True) as db:
            db.execute(f"ALTER ROLE {USER} PASSWORD '{NEW}'")
        secrets.put_secret_value(
            SecretId=arn,
            SecretString=json.dumps({"username": USER, "password": NEW, "engine": "postgres"}),
        )
        assert kill_app_connections(postgres) >= 1

        # Without re-reading the secret the next login fails: the server refuses the old one.
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(postgres.libpq(USER, OLD)).close()
        assert credentials.current() == (USER, OLD)  # what the process still holds

        second = client.get("/api/health/ready")
        assert second.status_code == 200, second.text
        assert second.json()["status"] == "ready"
        assert credentials.reads == 2  # read once more, after the refusal
        assert credentials.current() == (USER, NEW)

        third = client.get("/api/health/ready")
        assert third.status_code == 200
        assert credentials.reads == 2  # cached again


def test_a_secret_without_a_password_names_the_secret_not_a_value(
    hub: Hub, postgres: PrivatePostgres
) -> None:
    secrets = hub.client("secretsmanager")
    arn = secrets.create_secret(Name="rds!db-broken", SecretString=json.dumps({"username": USER}))[
        "ARN"
    ]
    engine = create_index_engine(
        postgres.url(), credentials=SecretsManagerDbCredentials(secrets, arn)
    )
    try:
        with pytest.raises(Exception, match="needs string fields username and password") as found:
            engine.connect()
        assert arn[:60] in str(found.value)
    finally:
        engine.dispose()

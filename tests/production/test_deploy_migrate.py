"""``changecast deploy migrate`` invokes the real migrate handler, which reads the RDS secret.

The function runs in its own process (tests/production/lambda_server.py speaks Lambda's Invoke
API), against a private PostgreSQL with password authentication, its credentials in a moto
Secrets Manager secret. Processes that find the schema behind name the step.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from changecast.index.engine import SCHEMA_HEAD
from tests.production.lambda_server import LambdaFunction, LambdaServer, lambda_server
from tests.production.private_postgres import PrivatePostgres, private_postgres
from tests.production.stack import BUCKET, Hub, clean_env, moto_hub

FUNCTION = "changecast-test-migrate"
APP_USER = "changecast_app"
APP_PASSWORD = "app-password-1-" + "x" * 20


@pytest.fixture(scope="module")
def postgres() -> Iterator[PrivatePostgres]:
    with private_postgres() as started:
        with psycopg.connect(started.libpq(), autocommit=True) as db:
            db.execute(f"CREATE ROLE {APP_USER} LOGIN PASSWORD '{APP_PASSWORD}' CREATEDB")
        yield started


def fresh_database(postgres: PrivatePostgres) -> str:
    """A new empty database owned by the app role; its URL has no credentials."""
    name = f"m_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres.libpq(), autocommit=True) as db:
        db.execute(f"CREATE DATABASE {name} OWNER {APP_USER}")
    return f"postgresql+psycopg://127.0.0.1:{postgres.port}/{name}"


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    with moto_hub(tmp_path) as started:
        yield started


@pytest.fixture
def server() -> Iterator[LambdaServer]:
    with lambda_server() as started:
        yield started


def db_secret(hub: Hub, password: str = APP_PASSWORD, name: str = "rds!db-test") -> str:
    value = json.dumps({"username": APP_USER, "password": password, "engine": "postgres"})
    arn: str = hub.client("secretsmanager").create_secret(Name=name, SecretString=value)["ARN"]
    return arn


def function_env(hub: Hub, database_url: str, secret_arn: str) -> dict[str, str]:
    """Exactly what Terraform gives the migrate function (plus moto's endpoint)."""
    return {
        **clean_env(hub.root),
        "CHANGECAST_MODE": "aws",
        "CHANGECAST_AWS_ENDPOINT_URL": hub.endpoint,
        "CHANGECAST_DATABASE_URL": database_url,
        "CHANGECAST_DATABASE_SECRET_ID": secret_arn,
    }


def cli_env(hub: Hub, server: LambdaServer) -> dict[str, str]:
    return {**clean_env(hub.root), "CHANGECAST_AWS_ENDPOINT_URL": server.endpoint}


def test_deploy_migrate_brings_an_empty_database_to_head_and_repeats_safely(
    hub: Hub, server: LambdaServer, postgres: PrivatePostgres
) -> None:
    database = fresh_database(postgres)
    secret = db_secret(hub)
    server.functions[FUNCTION] = LambdaFunction(
        "changecast.workers.migrate.handler", function_env(hub, database, secret)
    )
    env = cli_env(hub, server)

    first = hub.run_cli("deploy", "migrate", "--function", FUNCTION, env=env)
    assert first.returncode == 0, first.stderr
    assert f"migrated (empty) → {SCHEMA_HEAD}" in first.stdout
    assert APP_PASSWORD not in first.stdout + first.stderr

    again = hub.run_cli("deploy", "migrate", "--function", FUNCTION, "-o", "json", env=env)
    assert again.returncode == 0, again.stderr
    body = json.loads(again.stdout)
    assert body["ok"] is True
    assert body["before"] == body["after"] == body["head"] == SCHEMA_HEAD
    assert body["database"] == database  # the URL, never a password

    checked = hub.run_cli("deploy", "migrate", "--function", FUNCTION, "--check", env=env)
    assert checked.returncode == 0, checked.stderr
    assert f"at {SCHEMA_HEAD} (current)" in checked.stdout
    assert server.invocations == [FUNCTION] * 3

    name = database.rsplit("/", 1)[1]
    with psycopg.connect(PrivatePostgres(postgres.port, name).libpq(APP_USER, APP_PASSWORD)) as db:
        row = db.execute("SELECT version_num FROM alembic_version").fetchone()
    assert row == (SCHEMA_HEAD,)


def test_a_refused_password_is_reported_by_the_function_without_the_password(
    hub: Hub, server: LambdaServer, postgres: PrivatePostgres
) -> None:
    database = fresh_database(postgres)
    wrong = "not-the-password-" + uuid.uuid4().hex
    secret = db_secret(hub, password=wrong, name="rds!db-wrong")
    server.functions[FUNCTION] = LambdaFunction(
        "changecast.workers.migrate.handler", function_env(hub, database, secret)
    )
    answer = hub.run_cli("deploy", "migrate", "--function", FUNCTION, env=cli_env(hub, server))
    assert answer.returncode == 1
    assert f"{FUNCTION}: migration failed:" in answer.stderr
    assert "password authentication failed" in answer.stderr
    assert wrong not in answer.stderr + answer.stdout
    assert "Traceback" not in answer.stderr


def test_a_function_that_crashes_or_does_not_exist_exits_1_with_its_error(
    hub: Hub, server: LambdaServer, postgres: PrivatePostgres
) -> None:
    database = fresh_database(postgres)
    env = function_env(hub, database, db_secret(hub))
    server.functions["broken"] = LambdaFunction("changecast.workers.migrate.no_handler", env)
    answer = hub.run_cli("deploy", "migrate", "--function", "broken", env=cli_env(hub, server))
    assert answer.returncode == 1
    assert "broken: migration failed: AttributeError" in answer.stderr

    missing = hub.run_cli("deploy", "migrate", "--function", "nope", env=cli_env(hub, server))
    assert missing.returncode == 1
    assert "ResourceNotFoundException" in missing.stderr
    assert "Traceback" not in missing.stderr

    bad = hub.run_cli("deploy", "migrate", "--function", "a b", env=cli_env(hub, server))
    assert bad.returncode == 2
    assert "is not a Lambda function name" in bad.stderr


def test_a_process_that_finds_the_schema_behind_names_deploy_migrate(
    hub: Hub, server: LambdaServer, postgres: PrivatePostgres
) -> None:
    hub.put_config()
    database = fresh_database(postgres)
    env = hub.aws_mode_env(
        CHANGECAST_DATABASE_URL=database, CHANGECAST_DATABASE_SECRET_ID=db_secret(hub)
    )
    refused = hub.run_cli("serve", env=env)
    assert refused.returncode == 2
    assert "is not migrated; this release needs" in refused.stderr
    assert "changecast deploy migrate --function changecast-<env>-migrate" in refused.stderr
    assert "changecast index migrate" in refused.stderr
    assert APP_PASSWORD not in refused.stderr

    # `index migrate` from a host that reaches the database takes the same secret
    migrated = hub.run_cli("index", "migrate", env=env)
    assert migrated.returncode == 0, migrated.stderr
    assert f"→ {SCHEMA_HEAD}" in migrated.stdout
    assert BUCKET  # the process reads config.json from the hub bucket


def test_a_url_with_credentials_and_a_secret_is_refused(hub: Hub) -> None:
    env = hub.aws_mode_env(
        CHANGECAST_DATABASE_URL="postgresql+psycopg://u:p@127.0.0.1:5432/db",
        CHANGECAST_DATABASE_SECRET_ID="arn:aws:secretsmanager:us-east-1:1:secret:x",
    )
    answer = hub.run_cli("index", "migrate", env=env)
    assert answer.returncode == 2
    assert "names a user or password while CHANGECAST_DATABASE_SECRET_ID is set" in answer.stderr


def test_doctor_checks_a_private_index_through_the_migrate_function(
    tmp_path: Path, postgres: PrivatePostgres
) -> None:
    with moto_hub(tmp_path) as hub, lambda_server(upstream=hub.endpoint) as server:
        hub.put_config()
        database = fresh_database(postgres)
        server.functions[FUNCTION] = LambdaFunction(
            "changecast.workers.migrate.handler", function_env(hub, database, db_secret(hub))
        )
        env = {
            **hub.aws_mode_env(CHANGECAST_AWS_ENDPOINT_URL=server.endpoint),
            "CHANGECAST_DATABASE_URL": "postgresql+psycopg://10.0.0.1:5432/private",
        }

        def index_check() -> dict[str, str]:
            answer = hub.run_cli(
                "doctor", "--all", "--migrate-function", FUNCTION, "-o", "json", env=env
            )
            assert answer.returncode == 1, answer.stderr  # the bare moto hub lacks much
            checks = {c["name"]: c for c in json.loads(answer.stdout)["hub"]}
            assert checks["config loads"]["status"] == "ok"  # read from S3 through the proxy
            found: dict[str, str] = checks["index schema"]
            return found

        behind = index_check()
        assert behind["status"] == "fail"
        assert behind["detail"] == f"at (empty); this release needs {SCHEMA_HEAD}"
        assert "changecast deploy migrate" in behind["fix"]
        assert hub.run_cli("deploy", "migrate", "--function", FUNCTION, env=env).returncode == 0
        assert index_check() == {
            "name": "index schema",
            "status": "ok",
            "detail": SCHEMA_HEAD,
            "fix": "",
        }

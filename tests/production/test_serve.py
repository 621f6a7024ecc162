"""`changecast serve` as an operator runs it: aws mode, config in S3, a migrated database."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx

from changecast.index.engine import SCHEMA_HEAD
from changecast.local_runtime import LocalCustomer, LocalRuntime, write_runtime
from tests.production.stack import BUCKET, SECRET, moto_hub, serving


def test_serve_in_aws_mode_with_config_from_s3(tmp_path: Path) -> None:
    with moto_hub(tmp_path) as hub:
        hub.put_config()
        env = hub.aws_mode_env()
        # A local.json of this very process (alive) sits in the data directory: it is not read.
        data = Path(env["CHANGECAST_DATA_DIR"])
        data.mkdir()
        customer = LocalCustomer(account_id="210000000000", queue_url="q", dlq_url="d")
        write_runtime(
            data,
            LocalRuntime(
                aws_endpoint_url="http://127.0.0.1:9",
                portal_url="http://127.0.0.1:9",
                bucket="elsewhere",
                hub_account_id="123456789012",
                customers={"acme": customer},
                pid=os.getpid(),
            ),
        )

        behind = hub.run_cli("serve", "--port", "1", env=env)
        assert behind.returncode == 2, behind.stderr
        assert "changecast index migrate" in behind.stderr
        assert "Traceback" not in behind.stderr

        migrated = hub.run_cli("index", "migrate", "--output", "json", env=env)
        assert migrated.returncode == 0, migrated.stderr
        assert json.loads(migrated.stdout)["after"] == SCHEMA_HEAD
        again = hub.run_cli("index", "migrate", env=env)
        assert f"already at {SCHEMA_HEAD}" in again.stdout

        with serving(hub, env) as (url, _):
            health = httpx.get(f"{url}/api/health").json()
            assert health["mode"] == "aws"
            ready = httpx.get(f"{url}/api/health/ready")
            assert ready.status_code == 200, ready.text
            body = ready.json()
            assert body["status"] == "ready"
            assert body["checks"]["bucket"]["detail"] == f"s3://{BUCKET}"
            assert body["checks"]["config"]["detail"].startswith("2 customers from s3://")
            signin = httpx.post(f"{url}/auth/dev-login", data={"email": "a@b.c", "role": "Auditor"})
            assert signin.status_code == 404
            assert httpx.get(f"{url}/api/changes").status_code == 401


def test_serve_refuses_to_start_without_what_it_needs(tmp_path: Path) -> None:
    with moto_hub(tmp_path) as hub:
        env = {**hub.env, "CHANGECAST_MODE": "aws", "CHANGECAST_DATA_DIR": str(tmp_path)}
        answer = hub.run_cli("serve", env=env)
        assert answer.returncode == 2
        for name in ("SESSION_SECRET", "DATABASE_URL", "CHANGECAST_CONFIG"):
            assert name in answer.stderr
        assert "Traceback" not in answer.stderr

        missing = hub.aws_mode_env(CHANGECAST_CONFIG=f"s3://{BUCKET}/config/nope.json")
        hub.run_cli("index", "migrate", env=missing)
        answer = hub.run_cli("serve", env=missing)
        assert answer.returncode == 2
        assert f"s3://{BUCKET}/config/nope.json: (file): does not exist" in answer.stderr


def test_secrets_come_from_secrets_manager(tmp_path: Path) -> None:
    with moto_hub(tmp_path) as hub:
        hub.put_config()
        secret = hub.client("secretsmanager").create_secret(
            Name="changecast/portal",
            SecretString=json.dumps({"session_secret": SECRET, "links_secret": "l" * 40}),
        )
        env = hub.aws_mode_env(CHANGECAST_SECRETS_ID=secret["ARN"])
        del env["CHANGECAST_WEB__SESSION_SECRET"]
        assert hub.run_cli("index", "migrate", env=env).returncode == 0
        with serving(hub, env) as (url, _):
            assert httpx.get(f"{url}/api/health/ready").status_code == 200

        hub.client("secretsmanager").put_secret_value(
            SecretId=secret["ARN"], SecretString=json.dumps({"session_secret": "x", "oops": "y"})
        )
        answer = hub.run_cli("serve", env=env)
        assert answer.returncode == 2
        assert "unknown fields oops; accepted: links_secret, saml_idp_cert, session_secret" in (
            answer.stderr.replace("\n", "")
        )

        retired = {"session_secret": SECRET, "database_url": "postgresql://u:p@h/db"}
        hub.client("secretsmanager").put_secret_value(
            SecretId=secret["ARN"], SecretString=json.dumps(retired)
        )
        answer = hub.run_cli("serve", env=env)
        assert answer.returncode == 2
        text = " ".join(answer.stderr.split())
        assert "unknown fields database_url (database_url: database credentials come from" in text
        assert "CHANGECAST_DATABASE_SECRET_ID" in text
        assert "u:p@h" not in text


def test_the_cli_works_against_a_deployment_and_prints_whole_ids(tmp_path: Path) -> None:
    with moto_hub(tmp_path) as hub:
        hub.put_config()
        env = hub.aws_mode_env(CHANGECAST_ACTOR="operator@ccoe.example.com", COLUMNS="80")
        assert hub.run_cli("index", "migrate", env=env).returncode == 0
        examples = Path(__file__).parents[2] / "examples"
        created = hub.run_cli(
            "change", "new", "--from-file", str(examples / "change.json"), "-o", "json", env=env
        )
        assert created.returncode == 0, created.stderr
        change_id = json.loads(created.stdout)["changeId"]
        listed = hub.run_cli("change", "list", env=env)
        assert listed.returncode == 0, listed.stderr
        assert change_id in listed.stdout  # whole, in 80 columns
        assert max(len(line) for line in listed.stdout.splitlines()) <= 80

"""Shared set-up for the admin CLI tests: a moto world of customers, and exit codes like main().

``invoke`` runs ``changecast.cli.main.app`` in-process with ``standalone_mode=False`` and maps
the outcome the way ``main()`` does (0 ok, 1 a customer failed, 2 usage or configuration).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import botocore.handlers
import click
import pytest
import structlog
from typer.testing import CliRunner

from changecast.cli.main import app, exit_code_for
from changecast.errors import ChangecastError

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CODES = ("acme", "globex", "initech")


def config_for(codes: tuple[str, ...]) -> dict[str, Any]:
    mappings = {}
    for i, code in enumerate(codes):
        account = str(200000000000 + i)
        mappings[code] = {
            "customer_code": code,
            "customer_name": code.title(),
            "region": "us-east-1",
            "ses_role_arn": f"arn:aws:iam::{account}:role/changecast-ses",
            "identity_center_role_arn": f"arn:aws:iam::{account}:role/changecast-identity",
            "contact_list_name": "changecast",
        }
    return {
        "aws_region": "us-east-1",
        "s3_config": {"bucket_name": "changecast-test"},
        "customer_mappings": mappings,
        "email_config": {
            "sender_address": "change-notices@example.com",
            "meeting_organizer": "calendar@example.com",
            "portal_base_url": "http://portal.test",
            "domain": "example.com",
        },
    }


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str
    exception: BaseException | None

    def json(self) -> Any:
        return json.loads(self.stdout)


@dataclass
class World:
    """config.json + SESConfig.json in ``root``, with moto running for the whole test."""

    root: Path
    codes: tuple[str, ...]

    @property
    def config_path(self) -> Path:
        return self.root / "config.json"

    def role(self, code: str, kind: str = "ses") -> str:
        mapping = json.loads(self.config_path.read_text())["customer_mappings"][code]
        return str(mapping["ses_role_arn" if kind == "ses" else "identity_center_role_arn"])

    def session(self, code: str, kind: str = "ses") -> boto3.Session:
        """A boto3 session in the customer's (moto) account, for seeding and checking."""
        sts = boto3.client("sts", region_name="us-east-1")
        creds = sts.assume_role(RoleArn=self.role(code, kind), RoleSessionName="test")[
            "Credentials"
        ]
        return boto3.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
            region_name="us-east-1",
        )

    def invoke(self, *args: str) -> Outcome:
        full = ["--config", str(self.config_path), "--data-dir", str(self.root), *args]
        result = CliRunner().invoke(app, full, standalone_mode=False)
        return Outcome(exit_code(result), result.stdout, result.stderr, result.exception)


def exit_code(result: Any) -> int:
    """What ``main()`` would exit with for this CliRunner result."""
    exc = result.exception
    if exc is None:
        value = result.return_value
        return value if isinstance(value, int) else 0
    if isinstance(exc, ChangecastError):
        return exit_code_for(exc)
    if isinstance(exc, click.exceptions.Exit):
        return int(exc.exit_code)
    if isinstance(exc, click.ClickException):
        return 2
    if isinstance(exc, SystemExit):
        return int(exc.code or 0)
    raise exc


def make_world(root: Path, codes: tuple[str, ...] = CODES) -> World:
    root.mkdir(parents=True, exist_ok=True)
    (root / "config.json").write_text(json.dumps(config_for(codes)), encoding="utf-8")
    shutil.copy(EXAMPLES / "SESConfig.json", root / "SESConfig.json")
    return World(root=root, codes=codes)


def verify_sending_domain(world: World, domain: str = "example.com") -> None:
    """A verified domain identity with Easy DKIM in every customer's account, as a deployed
    customer has, so that sends pass the preflight gate (sender verified, DKIM verified)."""
    for code in world.codes:
        world.session(code).client("sesv2").create_email_identity(
            EmailIdentity=domain, DkimSigningAttributes={"NextSigningKeyLength": "RSA_2048_BIT"}
        )


def moto_world(tmp_path: Path) -> Iterator[World]:
    """The body of each test module's ``world`` fixture (call it after ``aws_env``)."""
    from moto import mock_aws

    with mock_aws():
        yield make_world(tmp_path / "cfg")
    structlog.reset_defaults()


def deny_assume_role(role_arn: str) -> Callable[..., Any]:
    """A botocore ``before-call.sts.AssumeRole`` handler that answers AccessDenied for one role.

    A test double for AWS at the botocore layer (moto accepts every AssumeRole).
    """

    class _Http:
        status_code = 403
        headers: dict[str, str] = {}

    def handler(params: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]] | None:
        body = params.get("body") or {}
        if isinstance(body, dict) and body.get("RoleArn") == role_arn:
            error = {"Code": "AccessDenied", "Message": f"not authorized to assume {role_arn}"}
            return _Http(), {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 403}}
        return None

    return handler


def deny_role(monkeypatch: pytest.MonkeyPatch, role_arn: str) -> None:
    """Make AssumeRole of one role ARN fail with AccessDenied in every new botocore session."""
    handlers = [*botocore.handlers.BUILTIN_HANDLERS]
    handlers.append(("before-call.sts.AssumeRole", deny_assume_role(role_arn)))
    monkeypatch.setattr(botocore.handlers, "BUILTIN_HANDLERS", handlers)

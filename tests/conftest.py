"""Shared fixtures: no test can reach a real AWS account."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from changecast.bootstrap import Runtime
from changecast.local_runtime import LocalCustomer, LocalRuntime
from changecast.settings import Settings


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake credentials, a fixed region, and config files that do not exist."""
    missing = tmp_path / "no-such-aws-config"
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(missing),
        "AWS_SHARED_CREDENTIALS_FILE": str(missing),
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def moto_runtime(aws_env: None, tmp_path: Path) -> Iterator[Runtime]:
    """A local-mode Runtime on in-process moto, provisioned like ``local up`` (3 customers)."""
    from moto import mock_aws

    from changecast.local import provision
    from changecast.local.demo import demo_config, demo_ses_config

    with mock_aws():
        config = demo_config(3, portal_url="http://portal.test")
        (tmp_path / "config.json").write_text(config.model_dump_json(), encoding="utf-8")
        settings = Settings(
            mode="local",
            data_dir=tmp_path,
            config=tmp_path / "config.json",
            database_url=f"sqlite:///{tmp_path / 'index.db'}",
            allow_self_approval=True,  # tests here approve their own changes; see test_four_eyes
        )
        runtime = Runtime(settings=settings)
        customers = provision.provision(runtime.aws, runtime.config, demo_ses_config())
        provision.configure_notifications(
            runtime.aws, runtime.config, provision.queue_arns(runtime.aws, customers)
        )
        runtime.local = _local_runtime(customers)
        yield runtime


def _local_runtime(customers: dict[str, LocalCustomer]) -> LocalRuntime:
    return LocalRuntime(
        aws_endpoint_url="",
        portal_url="http://portal.test",
        bucket="changecast-local",
        hub_account_id="123456789012",
        customers=customers,
        pid=1,
    )

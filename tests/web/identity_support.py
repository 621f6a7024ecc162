"""Helpers of the identity tests: a module-wide moto runtime, sign-in, and the fake IdP."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from changecast.bootstrap import Runtime
from changecast.identity_settings import SamlSettings
from changecast.settings import Settings, WebSettings
from changecast.web.app import create_app
from tests.fakes.idp import IDP_ENTITY_ID, IDP_SLO_URL, IDP_SSO_URL, FakeIdp, make_key_pair

PORTAL = "https://portal.test"
SESSION_SECRET = SecretStr("x" * 48)


def _aws_env(env: pytest.MonkeyPatch, missing: Path) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        env.setenv(name, "testing")
    env.setenv("AWS_DEFAULT_REGION", "us-east-1")
    env.setenv("AWS_CONFIG_FILE", str(missing))
    env.setenv("AWS_SHARED_CREDENTIALS_FILE", str(missing))
    env.delenv("AWS_PROFILE", raising=False)


@contextmanager
def provisioned_runtime(root: Path, portal: str = PORTAL, **overrides: Any) -> Iterator[Runtime]:
    """A runtime on in-process moto, provisioned like ``local up`` (3 customers).

    ``overrides`` are Settings fields (``mode="aws"``, ``saml=...``); moto runs inside the block.
    """
    from moto import mock_aws

    from changecast.local import provision
    from changecast.local.demo import demo_config, demo_ses_config
    from changecast.local_runtime import LocalRuntime

    with pytest.MonkeyPatch.context() as env, mock_aws():
        _aws_env(env, root / "no-such-aws-config")
        config = demo_config(3, portal_url=portal)
        (root / "config.json").write_text(config.model_dump_json(), encoding="utf-8")
        fields: dict[str, Any] = {
            "mode": "local",
            "data_dir": root,
            "config": root / "config.json",
            "database_url": f"sqlite:///{root / 'index.db'}",
            "web": WebSettings(session_secret=SESSION_SECRET),
            **overrides,
        }
        runtime = Runtime(settings=Settings(**fields))
        migrate_index(runtime.settings.index_url)  # the deploy step an aws-mode portal expects
        customers = provision.provision(runtime.aws, runtime.config, demo_ses_config())
        provision.configure_notifications(
            runtime.aws, runtime.config, provision.queue_arns(runtime.aws, customers)
        )
        runtime.local = LocalRuntime(
            aws_endpoint_url="",
            portal_url=portal,
            bucket=runtime.config.s3_config.bucket_name,
            hub_account_id="123456789012",
            customers=customers,
            pid=1,
        )
        yield runtime


def migrate_index(url: str) -> None:
    """What ``changecast index migrate`` does before a deployed portal starts."""
    from changecast.index.engine import create_index_engine, run_migrations

    engine = create_index_engine(url)
    try:
        run_migrations(engine)
    finally:
        engine.dispose()


def saml_settings(keys_dir: Path, **overrides: Any) -> tuple[SamlSettings, Any]:
    """SAML settings trusting a fresh IdP key, and the (key, wrong key) pair."""
    keys = make_key_pair(keys_dir, "idp")
    wrong = make_key_pair(keys_dir, "wrong")
    fields: dict[str, Any] = {
        "idp_entity_id": IDP_ENTITY_ID,
        "idp_sso_url": IDP_SSO_URL,
        "idp_slo_url": IDP_SLO_URL,
        "idp_cert": keys.cert_pem,
        "allowed_email_domains": ["ccoe.example.com"],
        **overrides,
    }
    return SamlSettings(**fields), (keys, wrong)


def fake_idp(client: TestClient, key_pairs: Any) -> FakeIdp:
    """An IdP that trusts the SP described by the app's own ``/saml/metadata``."""
    metadata = client.get("/saml/metadata")
    assert metadata.status_code == 200, metadata.text
    keys, wrong = key_pairs
    return FakeIdp(
        keys=keys,
        wrong_keys=wrong,
        sp_metadata=metadata.text,
        sp_entity_id=f"{PORTAL}/saml/metadata",
        acs_url=f"{PORTAL}/saml/acs",
    )


def dev_login(
    client: TestClient,
    *,
    email: str = "manager@ccoe.example.com",
    role: str = "ChangeManager",
    customers: str = "",
) -> str:
    """Sign in through dev-login; the client then sends the session's CSRF token on every call."""
    answer = client.post(
        "/auth/dev-login", data={"email": email, "role": role, "customers": customers}
    )
    assert answer.status_code == 200, answer.text
    token = str(answer.json()["csrfToken"])
    client.headers["X-CSRF-Token"] = token
    return token


def portal_client(runtime: Runtime, *, csrf: bool = True) -> TestClient:
    return TestClient(create_app(runtime, csrf=csrf), base_url=PORTAL, follow_redirects=False)

"""What Terraform gives the portal: its public URL, and the IdP's metadata by URL (S3 or https)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from fastapi.testclient import TestClient

from changecast.errors import InvalidInputError
from changecast.index.engine import open_index
from changecast.web import app as web_app
from changecast.web.asgi import build_portal_runtime
from tests.fakes.idp import make_key_pair
from tests.production.idp_metadata import idp_metadata_xml
from tests.production.stack import BUCKET, Hub, moto_hub

IDC_ENTITY = "https://portal.sso.eu-west-1.amazonaws.com/saml/assertion/ABC123"
IDC_SSO = "https://portal.sso.eu-west-1.amazonaws.com/saml/assertion/ABC123/login"


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Hub]:
    with moto_hub(tmp_path) as started:
        started.put_config(portal_url="https://portal.example.com")
        env = started.aws_mode_env()
        open_index(env["CHANGECAST_DATABASE_URL"]).close()  # migrated (the deploy step)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        yield started


def test_the_base_url_wins_over_config_json_for_saml_and_links(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert build_portal_runtime().config.email_config.portal_base_url == (
        "https://portal.example.com"
    )
    monkeypatch.setenv("CHANGECAST_WEB__BASE_URL", "https://changes.example.com/")
    monkeypatch.setenv("CHANGECAST_SAML__IDP_ENTITY_ID", IDC_ENTITY)
    monkeypatch.setenv("CHANGECAST_SAML__IDP_SSO_URL", IDC_SSO)
    keys = make_key_pair(hub.root / "keys", "idc")
    monkeypatch.setenv("CHANGECAST_SAML__IDP_CERT", keys.cert_pem)
    runtime = build_portal_runtime()
    assert runtime.config.email_config.portal_base_url == "https://changes.example.com"
    assert runtime.signoff_links is not None
    assert runtime.signoff_links.portal_base_url == "https://changes.example.com"
    with TestClient(web_app.create_app(runtime)) as client:
        metadata = client.get("/saml/metadata").text
    assert 'entityID="https://changes.example.com/saml/metadata"' in metadata
    assert 'Location="https://changes.example.com/saml/acs"' in metadata
    assert "portal.example.com" not in metadata


def test_a_bad_base_url_is_refused_naming_the_variable(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    del hub
    monkeypatch.setenv("CHANGECAST_WEB__BASE_URL", "changes.example.com/path")
    with pytest.raises(InvalidInputError, match=r"CHANGECAST\.web\.base_url"):
        build_portal_runtime()


def test_the_idp_metadata_is_fetched_from_s3_at_start(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = make_key_pair(hub.root / "keys", "idc")
    xml = idp_metadata_xml(keys.cert_pem, IDC_ENTITY, IDC_SSO)
    hub.client("s3").put_object(Bucket=BUCKET, Key="saml/idc.xml", Body=xml.encode())
    monkeypatch.setenv("CHANGECAST_SAML__IDP_METADATA_URL", f"s3://{BUCKET}/saml/idc.xml")
    runtime = build_portal_runtime()
    assert runtime.settings.saml.idp_metadata_xml == xml
    with TestClient(web_app.create_app(runtime), follow_redirects=False) as client:
        login = client.get("/saml/login")
    assert login.status_code in {302, 303, 307}
    target = urlparse(login.headers["location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == IDC_SSO


def test_metadata_that_cannot_be_fetched_stops_the_start_naming_the_url(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHANGECAST_SAML__IDP_METADATA_URL", f"s3://{BUCKET}/saml/missing.xml")
    with pytest.raises(InvalidInputError, match=r"saml/missing\.xml.*does not exist"):
        build_portal_runtime()
    monkeypatch.setenv("CHANGECAST_SAML__IDP_METADATA_URL", "https://127.0.0.1:1/metadata")
    with pytest.raises(InvalidInputError, match=r"https://127\.0\.0\.1:1/metadata: cannot be"):
        build_portal_runtime()
    monkeypatch.setenv("CHANGECAST_SAML__IDP_METADATA_URL", "http://idp.example.com/metadata")
    with pytest.raises(InvalidInputError, match=r"CHANGECAST\.saml\.idp_metadata_url"):
        build_portal_runtime()
    del hub


def test_the_runtime_secret_gives_the_session_and_links_secrets(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from changecast.bootstrap import link_secret

    arn = hub.client("secretsmanager").create_secret(
        Name="changecast/runtime",
        SecretString=json.dumps({"session_secret": "s" * 40, "links_secret": "l" * 40}),
    )["ARN"]
    monkeypatch.setenv("CHANGECAST_SECRETS_ID", arn)
    monkeypatch.delenv("CHANGECAST_WEB__SESSION_SECRET")
    runtime = build_portal_runtime()
    assert runtime.settings.web.session_secret is not None
    assert runtime.settings.web.session_secret.get_secret_value() == "s" * 40
    assert link_secret(runtime.settings) == "l" * 40  # not the session secret

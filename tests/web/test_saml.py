"""SAML sign-in against a real IdP in process (pysaml2, RSA-SHA256), in AWS mode over HTTPS."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterator
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from fastapi.testclient import TestClient
from structlog.testing import capture_logs

from changecast.audit.models import AuditAction, AuditQuery
from changecast.bootstrap import Runtime
from changecast.identity_settings import RoleMappingSettings
from changecast.settings import Settings
from changecast.web.auth.session import COOKIE_NAME
from tests.fakes.idp import IDP_SSO_URL, FakeIdp, tamper
from tests.web.identity_support import (
    PORTAL,
    fake_idp,
    portal_client,
    provisioned_runtime,
    saml_settings,
)

ALICE = "alice@ccoe.example.com"


@pytest.fixture(scope="module")
def keys_and_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Runtime]]:
    root = tmp_path_factory.mktemp("saml")
    roles = RoleMappingSettings(customer_manager_groups={"a1b2c3d4-group-id": ["globex"]})
    saml, key_pairs = saml_settings(root / "keys", roles=roles)
    with provisioned_runtime(root, mode="aws", saml=saml) as runtime:
        yield key_pairs, runtime


@pytest.fixture(scope="module")
def runtime(keys_and_runtime: tuple[Any, Runtime]) -> Runtime:
    return keys_and_runtime[1]


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with portal_client(runtime) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def idp(keys_and_runtime: tuple[Any, Runtime]) -> FakeIdp:
    key_pairs, runtime = keys_and_runtime
    with portal_client(runtime) as anonymous:
        return fake_idp(anonymous, key_pairs)


def post_acs(client: TestClient, saml_response: str, relay_state: str | None = None) -> Any:
    data = {"SAMLResponse": saml_response}
    if relay_state is not None:
        data["RelayState"] = relay_state
    return client.post("/saml/acs", data=data, headers={"accept": "text/html"})


def session_cookie(response: Any) -> SimpleCookie:
    cookie: SimpleCookie = SimpleCookie()
    for header in response.headers.get_list("set-cookie"):
        cookie.load(header)
    return cookie


def test_metadata_names_our_entity_id_and_acs(client: TestClient) -> None:
    metadata = client.get("/saml/metadata")
    assert metadata.headers["content-type"].startswith("application/xml")
    assert f'entityID="{PORTAL}/saml/metadata"' in metadata.text
    assert f'Location="{PORTAL}/saml/acs"' in metadata.text
    assert "HTTP-POST" in metadata.text


def test_sp_initiated_login_returns_to_the_page_asked_for(
    client: TestClient, idp: FakeIdp, runtime: Runtime
) -> None:
    started = client.get("/saml/login", params={"next": "/search?q=tls"})
    assert started.status_code == 303
    location = started.headers["location"]
    assert location.startswith(IDP_SSO_URL)
    relay = parse_qs(urlparse(location).query)["RelayState"][0]
    request_id = idp.request_id(location)
    answer = post_acs(client, idp.response(in_response_to=request_id), relay)
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/search?q=tls"
    cookie = session_cookie(answer)[COOKIE_NAME]
    assert cookie["httponly"] and cookie["secure"] and cookie["samesite"].lower() == "lax"
    me = client.get("/api/session").json()
    assert (me["email"], me["role"], me["displayName"]) == (ALICE, "ChangeManager", "Alice Example")
    events = runtime.audit_index.find(AuditQuery(actor=ALICE, action=AuditAction.SIGN_IN))
    assert events.items[0].detail == {"method": "saml-sp"}


def test_idp_initiated_login_from_the_access_portal_tile(client: TestClient, idp: FakeIdp) -> None:
    answer = post_acs(client, idp.response(groups=["ccoe-auditors"]), relay_state="")
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/"
    assert client.get("/api/session").json()["role"] == "Auditor"


@pytest.mark.parametrize(
    ("relay", "target"),
    [("/changes", "/changes"), ("https://evil.example/", "/"), ("//evil.example", "/")],
)
def test_idp_initiated_relay_state_only_leads_to_our_own_pages(
    client: TestClient, idp: FakeIdp, relay: str, target: str
) -> None:
    answer = post_acs(client, idp.response(), relay_state=relay)
    assert answer.status_code == 303
    assert answer.headers["location"] == target


@pytest.mark.parametrize(
    ("groups", "role", "customers"),
    [
        (["ccoe-readonly", "ccoe-customer-acme"], "CustomerManager", ["acme"]),
        (["a1b2c3d4-group-id", "ccoe-customer-nobody"], "CustomerManager", ["globex"]),
        (["ccoe-readonly", "ccoe-auditors"], "Auditor", []),
        (["ccoe-customer-acme", "ccoe-change-managers"], "ChangeManager", []),
    ],
)
def test_groups_map_to_the_strongest_role(
    client: TestClient, idp: FakeIdp, groups: list[str], role: str, customers: list[str]
) -> None:
    assert post_acs(client, idp.response(groups=groups)).status_code == 303
    me = client.get("/api/session").json()
    assert (me["role"], me["customers"]) == (role, customers)


VARIANTS: dict[str, tuple[Callable[[FakeIdp], str], str]] = {
    "tampered": (
        lambda idp: tamper(idp.response(), ALICE, "mallory@ccoe.example.com"),
        "Signature",
    ),
    "wrong audience": (lambda idp: idp.response(audience="https://other.test/sp"), "audience"),
    "expired": (lambda idp: idp.response(lifetime_minutes=-10), "expired"),
    "unsigned": (lambda idp: idp.response(sign_assertion=False), "not signed"),
    "signed response only": (
        lambda idp: idp.response(sign_assertion=False, sign_response=True),
        "not signed",
    ),
    "wrong certificate": (lambda idp: idp.response(wrong_key=True), "Signature validation"),
    "unsolicited InResponseTo": (lambda idp: idp.response(in_response_to="_x1"), "did not start"),
    "no known group": (lambda idp: idp.response(groups=["staff"]), "no recognised group"),
    "foreign domain": (lambda idp: idp.response(email="eve@evil.example"), "not allowed"),
}
"""Each broken response, and the words its log reason must contain."""
POLICY_REFUSALS = frozenset({"no known group", "foreign domain"})
"""Valid assertions for people the portal does not let in: 403; every other refusal is a 400."""


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _break_signature(saml_response: str) -> str:
    """The same response with the first characters of its signature value changed."""
    xml = base64.b64decode(saml_response).decode("utf-8")
    found = re.search(r"<(?:\w+:)?SignatureValue[^>]*>\s*([A-Za-z0-9+/]{8})", xml)
    assert found is not None, "the response carries no signature"
    start = found.start(1)
    flipped = (
        found.group(1).swapcase() if found.group(1).swapcase() != found.group(1) else "AAAAAAAA"
    )
    return _b64(xml[:start] + flipped + xml[start + 8 :])


SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
MALFORMED: dict[str, Callable[[FakeIdp], str]] = {
    "not base64": lambda _idp: "%%% not base64 at all %%%",
    "base64 of nothing": lambda _idp: "",
    "not XML": lambda _idp: _b64("this is not XML <"),
    "truncated XML": lambda idp: _b64(base64.b64decode(idp.response()).decode()[:400]),
    "binary garbage": lambda _idp: base64.b64encode(bytes(range(256)) * 4).decode("ascii"),
    "entity expansion": lambda _idp: _b64(
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        f'<samlp:Response xmlns:samlp="{SAMLP}">&b;</samlp:Response>'
    ),
    "external entity": lambda _idp: _b64(
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        f'<samlp:Response xmlns:samlp="{SAMLP}">&x;</samlp:Response>'
    ),
    "wrong root": lambda _idp: _b64('<html xmlns="http://www.w3.org/1999/xhtml"><body/></html>'),
    "no assertion": lambda _idp: _b64(
        f'<samlp:Response xmlns:samlp="{SAMLP}" ID="_r1" Version="2.0" '
        'IssueInstant="2030-01-01T00:00:00Z"><samlp:Status><samlp:StatusCode '
        'Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status></samlp:Response>'
    ),
    "bad signature value": lambda idp: _break_signature(idp.response()),
    "deeply nested": lambda _idp: _b64(
        f'<samlp:Response xmlns:samlp="{SAMLP}">'
        + "<a>" * 5000
        + "</a>" * 5000
        + "</samlp:Response>"
    ),
}
"""Responses that cannot be read, each a 400 with a logged reason, never a 500."""


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_responses_are_a_400_with_a_logged_reason(
    client: TestClient, idp: FakeIdp, case: str
) -> None:
    with capture_logs() as logs:
        answer = post_acs(client, MALFORMED[case](idp))
    assert answer.status_code == 400, answer.text
    assert "sign-in refused" in answer.text.lower()
    assert COOKIE_NAME not in session_cookie(answer)
    rejected = [entry for entry in logs if entry["event"] == "saml_login_rejected"]
    assert len(rejected) == 1 and rejected[0]["reason"], logs


def test_malformed_responses_answer_json_to_api_clients(client: TestClient) -> None:
    answer = client.post("/saml/acs", data={"SAMLResponse": _b64("<nope")})
    assert answer.status_code == 400
    assert answer.json()["error"]["kind"] == "sign_in_refused"


@pytest.mark.parametrize("case", list(VARIANTS))
def test_bad_responses_are_refused_with_a_log_event(
    client: TestClient, idp: FakeIdp, case: str
) -> None:
    build, reason = VARIANTS[case]
    saml_response = build(idp)
    with capture_logs() as logs:
        answer = post_acs(client, saml_response)
    assert answer.status_code == (403 if case in POLICY_REFUSALS else 400)
    assert "sign-in refused" in answer.text.lower()
    assert COOKIE_NAME not in session_cookie(answer)
    assert client.get("/api/session").status_code == 401
    rejected = [entry for entry in logs if entry["event"] == "saml_login_rejected"]
    assert len(rejected) == 1 and reason in rejected[0]["reason"], logs
    assert all("SAMLResponse" not in str(entry) and ALICE not in str(entry) for entry in logs)


def test_a_replayed_assertion_is_refused(client: TestClient, idp: FakeIdp) -> None:
    saml_response = idp.response()
    assert post_acs(client, saml_response).status_code == 303
    client.cookies.clear()
    with capture_logs() as logs:
        again = post_acs(client, saml_response)
    assert again.status_code == 400
    assert [e["reason"] for e in logs if e["event"] == "saml_login_rejected"] == [
        "replayed assertion: its id was already used"
    ]


def test_sp_initiated_response_must_answer_our_request(client: TestClient, idp: FakeIdp) -> None:
    first = client.get("/saml/login").headers["location"]
    relay = parse_qs(urlparse(first).query)["RelayState"][0]
    wrong_request = post_acs(client, idp.response(in_response_to="_someone-else"), relay)
    assert wrong_request.status_code == 400
    second = client.get("/saml/login").headers["location"]
    relay = parse_qs(urlparse(second).query)["RelayState"][0]
    without_answer = post_acs(client, idp.response(in_response_to=None), relay)
    assert without_answer.status_code == 400
    third = client.get("/saml/login").headers["location"]
    relay = parse_qs(urlparse(third).query)["RelayState"][0]
    answered = idp.response(in_response_to=idp.request_id(third))
    assert post_acs(client, answered, relay).status_code == 303
    assert (
        post_acs(client, idp.response(in_response_to=idp.request_id(third)), relay).status_code
        == 400
    )


def test_logout_ends_the_session_even_for_a_copied_cookie(
    client: TestClient, idp: FakeIdp, runtime: Runtime
) -> None:
    assert post_acs(client, idp.response()).status_code == 303
    copied = client.cookies.get(COOKIE_NAME)
    token = client.get("/api/session").json()["csrfToken"]
    refused = client.post("/saml/logout")
    assert refused.status_code == 403
    out = client.post("/saml/logout", headers={"X-CSRF-Token": token})
    assert out.status_code == 303
    assert out.headers["location"].startswith("https://idp.test/")
    assert client.get("/api/session").status_code == 401
    client.cookies.set(COOKIE_NAME, str(copied))
    assert client.get("/api/session").status_code == 401
    signed_out = runtime.audit_index.find(AuditQuery(actor=ALICE, action=AuditAction.SIGN_OUT))
    assert signed_out.total >= 1


def test_the_sign_in_page_offers_single_sign_on_and_no_dev_login(client: TestClient) -> None:
    page = client.get("/signin", params={"next": "/approvals"}, headers={"accept": "text/html"})
    assert 'id="sso-signin" href="/saml/login?next=/approvals"' in page.text
    assert "/auth/dev-login" not in page.text


def test_dev_login_does_not_exist_outside_local_mode(client: TestClient) -> None:
    answer = client.post("/auth/dev-login", data={"email": "x@ccoe.example.com"})
    assert answer.status_code in {404, 405}


def test_saml_is_not_offered_when_unconfigured(tmp_path: Path, runtime: Runtime) -> None:
    settings = Settings(
        mode="local",
        data_dir=tmp_path,
        config=runtime.settings.config_path,
        database_url=f"sqlite:///{tmp_path / 'index.db'}",
    )
    with portal_client(Runtime(settings=settings)) as local:
        assert local.get("/saml/login").status_code == 404
        assert local.get("/saml/metadata").status_code == 404

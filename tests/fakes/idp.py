"""A real SAML 2.0 IdP in process (pysaml2's ``saml2.server.Server``), signing with RSA-SHA256.

Besides honest responses it builds the broken ones a security review asks about: tampered,
wrong audience, expired, unsigned, and signed by a key the SP does not trust.
"""

from __future__ import annotations

import base64
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

IDP_ENTITY_ID = "https://idp.test/saml/metadata"
IDP_SSO_URL = "https://idp.test/saml/sso"
IDP_SLO_URL = "https://idp.test/saml/slo"
XMLSEC = "/usr/bin/xmlsec1"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
BASIC = "urn:oasis:names:tc:SAML:2.0:attrname-format:basic"


@dataclass(frozen=True)
class KeyPair:
    """An RSA key and its self-signed certificate, as PEM files on disk."""

    key_file: Path
    cert_file: Path

    @property
    def cert_pem(self) -> str:
        return self.cert_file.read_text(encoding="ascii")


def make_key_pair(directory: Path, name: str, common_name: str = "idp.test") -> KeyPair:
    """A fresh 2048-bit RSA key with a one-year self-signed certificate."""
    directory.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    key_file = directory / f"{name}.key"
    cert_file = directory / f"{name}.crt"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return KeyPair(key_file=key_file, cert_file=cert_file)


def _server(keys: KeyPair, sp_metadata: str, lifetime_minutes: int, sso_url: str) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pysaml2 imports deprecated cryptography names
        from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
        from saml2.config import IdPConfig
        from saml2.saml import NAMEID_FORMAT_EMAILADDRESS
        from saml2.server import Server

    config = {
        "entityid": IDP_ENTITY_ID,
        "key_file": str(keys.key_file),
        "cert_file": str(keys.cert_file),
        "xmlsec_binary": XMLSEC,
        "metadata": {"inline": [sp_metadata]},
        "allow_unknown_attributes": True,
        "service": {
            "idp": {
                "endpoints": {
                    "single_sign_on_service": [
                        (sso_url, BINDING_HTTP_REDIRECT),
                        (sso_url, BINDING_HTTP_POST),
                    ],
                },
                "name_id_format": [NAMEID_FORMAT_EMAILADDRESS],
                "policy": {
                    "default": {
                        "lifetime": {"minutes": lifetime_minutes},
                        "attribute_restrictions": None,
                        "name_form": BASIC,
                    }
                },
            }
        },
    }
    idp_config = IdPConfig()
    idp_config.load(config)
    idp_config.attribute_converters = [_plain_names()]
    return Server(config=idp_config)


def _plain_names() -> Any:
    """Attribute names go out exactly as given (``email``, ``groups``), as Identity Center does."""
    from saml2.attribute_converter import AttributeConverter

    names = {name: name for name in ("email", "name", "groups", "displayName", "mail")}
    converter = AttributeConverter(BASIC)
    converter.from_dict({"identifier": BASIC, "fro": names, "to": names})
    return converter


@dataclass
class FakeIdp:
    """Signs responses for one SP, whose metadata (from ``/saml/metadata``) it was given."""

    keys: KeyPair
    wrong_keys: KeyPair
    sp_metadata: str
    sp_entity_id: str
    acs_url: str
    sso_url: str = IDP_SSO_URL
    _servers: dict[tuple[str, int], Any] = field(default_factory=dict)

    def server(self, *, wrong_key: bool = False, lifetime_minutes: int = 5) -> Any:
        keys = self.wrong_keys if wrong_key else self.keys
        cache_key = (str(keys.key_file), lifetime_minutes)
        if cache_key not in self._servers:
            self._servers[cache_key] = _server(
                keys, self.sp_metadata, lifetime_minutes, self.sso_url
            )
        return self._servers[cache_key]

    def request_id(self, redirect_url: str) -> str:
        """The AuthnRequest ID in an SP-initiated redirect to our SSO URL (HTTP-Redirect)."""
        from saml2 import BINDING_HTTP_REDIRECT

        query = parse_qs(urlparse(redirect_url).query)
        request = self.server().parse_authn_request(query["SAMLRequest"][0], BINDING_HTTP_REDIRECT)
        return str(request.message.id)

    def relay_state(self, redirect_url: str) -> str:
        return parse_qs(urlparse(redirect_url).query).get("RelayState", [""])[0]

    def response(
        self,
        *,
        email: str = "alice@ccoe.example.com",
        groups: list[str] | None = None,
        name: str = "Alice Example",
        in_response_to: str | None = None,
        audience: str | None = None,
        sign_assertion: bool = True,
        sign_response: bool = False,
        wrong_key: bool = False,
        lifetime_minutes: int = 5,
        extra: dict[str, list[str]] | None = None,
    ) -> str:
        """A base64 SAMLResponse as the browser would POST it to the ACS."""
        from saml2.saml import NAMEID_FORMAT_EMAILADDRESS, NameID

        identity: dict[str, list[str]] = {
            "email": [email],
            "name": [name],
            "groups": groups if groups is not None else ["ccoe-change-managers"],
            **(extra or {}),
        }
        server = self.server(wrong_key=wrong_key, lifetime_minutes=lifetime_minutes)
        response = server.create_authn_response(
            identity=identity,
            in_response_to=in_response_to,
            destination=self.acs_url,
            sp_entity_id=audience or self.sp_entity_id,
            name_id=NameID(format=NAMEID_FORMAT_EMAILADDRESS, text=email),
            authn={"class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:Password"},
            sign_assertion=sign_assertion,
            sign_response=sign_response,
            sign_alg=RSA_SHA256,
            digest_alg=SHA256,
        )
        return base64.b64encode(str(response).encode("utf-8")).decode("ascii")


def tamper(saml_response: str, old: str, new: str) -> str:
    """The same response with one string replaced after signing (the signature no longer fits)."""
    xml = base64.b64decode(saml_response).decode("utf-8")
    assert old in xml, f"{old!r} is not in the response"
    return base64.b64encode(xml.replace(old, new).encode("utf-8")).decode("ascii")


def idp_web_app(idp: FakeIdp, user: dict[str, Any]) -> Any:
    """The IdP's SSO page for a browser: it signs ``user`` in and posts the answer to the ACS.

    ``user`` holds ``response()`` keyword arguments; tests change it between sign-ins.
    """
    from html import escape

    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import HTMLResponse
    from starlette.routing import Route

    def sso(request: Request) -> HTMLResponse:
        in_response_to = idp.request_id(str(request.url))
        saml_response = idp.response(in_response_to=in_response_to, **user)
        relay = request.query_params.get("RelayState", "")
        page = f"""<!doctype html><html><body><h1>Fake IdP</h1>
<form id="answer" method="post" action="{escape(idp.acs_url)}">
<input type="hidden" name="SAMLResponse" value="{escape(saml_response)}">
<input type="hidden" name="RelayState" value="{escape(relay)}">
<button type="submit" id="continue">Continue to changecast</button></form>
<script>document.getElementById("answer").submit();</script></body></html>"""
        return HTMLResponse(page)

    return Starlette(routes=[Route("/saml/sso", sso)])

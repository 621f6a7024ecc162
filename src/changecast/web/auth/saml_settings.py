"""The SAML service provider on python3-saml: settings, AuthnRequests, and response validation.

Strict mode; a signed assertion is required; deprecated algorithms (SHA-1) are refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.constants import OneLogin_Saml2_Constants
from onelogin.saml2.errors import OneLogin_Saml2_Error
from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser
from onelogin.saml2.settings import OneLogin_Saml2_Settings

from changecast.identity_settings import SamlSettings

POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
EMAIL_FORMAT = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"


class SamlRejectedError(Exception):
    """A SAML response we do not accept; ``reason`` is safe to log (no assertion, no secret)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class SamlIdentity:
    """What a valid assertion said about the user."""

    name_id: str
    name_id_format: str | None
    attributes: dict[str, list[str]]
    assertion_id: str
    not_on_or_after: datetime | None
    in_response_to: str | None


def _cert_body(pem: str) -> str:
    return "".join(line.strip() for line in pem.splitlines() if "-----" not in line)


def _idp_section(saml: SamlSettings) -> dict[str, Any]:
    idp: dict[str, Any] = {}
    xml = saml.idp_metadata_xml
    if xml is None and saml.idp_metadata_url is not None:
        raise ValueError(f"the IdP metadata at {saml.idp_metadata_url} was not fetched")
    if xml is None and saml.idp_metadata_file is not None:
        xml = saml.idp_metadata_file.read_text(encoding="utf-8")
    if xml is not None:
        parsed = OneLogin_Saml2_IdPMetadataParser.parse(
            xml, required_sso_binding=REDIRECT, entity_id=saml.idp_entity_id
        )
        idp = dict(parsed.get("idp", {}))
    if saml.idp_entity_id:
        idp["entityId"] = saml.idp_entity_id
    if saml.idp_sso_url:
        idp["singleSignOnService"] = {"url": saml.idp_sso_url, "binding": REDIRECT}
    if saml.idp_slo_url:
        idp["singleLogoutService"] = {"url": saml.idp_slo_url, "binding": REDIRECT}
    if saml.idp_cert:
        idp.pop("x509certMulti", None)
        idp["x509cert"] = _cert_body(saml.idp_cert)
    missing = [k for k in ("entityId", "singleSignOnService") if k not in idp]
    if missing or not (idp.get("x509cert") or idp.get("x509certMulti")):
        raise ValueError("SAML needs the IdP entity id, SSO URL and certificate (or metadata)")
    return idp


def onelogin_settings(saml: SamlSettings, portal_base_url: str) -> dict[str, Any]:
    """The python3-saml settings dict for this portal."""
    base = portal_base_url.rstrip("/")
    return {
        "strict": True,
        "debug": False,
        "sp": {
            "entityId": saml.sp_entity_id or f"{base}/saml/metadata",
            "assertionConsumerService": {
                "url": saml.acs_url or f"{base}/saml/acs",
                "binding": POST,
            },
            "NameIDFormat": EMAIL_FORMAT,
            "x509cert": "",
            "privateKey": "",
        },
        "idp": _idp_section(saml),
        "security": {
            "authnRequestsSigned": False,
            "wantAssertionsSigned": True,
            "wantMessagesSigned": False,
            "wantNameId": True,
            "wantAttributeStatement": True,
            "requestedAuthnContext": False,
            "rejectDeprecatedAlgorithm": True,
            "allowRepeatAttributeName": True,
            "signatureAlgorithm": RSA_SHA256,
            "digestAlgorithm": SHA256,
        },
    }


class ServiceProvider:
    """One SP, built once per app from settings."""

    def __init__(self, saml: SamlSettings, portal_base_url: str) -> None:
        self.settings = onelogin_settings(saml, portal_base_url)
        self.clock_skew = saml.clock_skew_seconds
        self.acs_url: str = self.settings["sp"]["assertionConsumerService"]["url"]
        self.entity_id: str = self.settings["sp"]["entityId"]
        OneLogin_Saml2_Settings(self.settings)  # refuse a broken configuration at start-up

    def _request(self, post_data: dict[str, str] | None = None) -> dict[str, Any]:
        """python3-saml's view of the request: the configured ACS URL, not the Host header."""
        acs = urlparse(self.acs_url)
        return {
            "https": "on" if acs.scheme == "https" else "off",
            "http_host": acs.netloc,
            "script_name": acs.path,
            "get_data": {},
            "post_data": post_data or {},
        }

    def metadata(self) -> str:
        settings = OneLogin_Saml2_Settings(self.settings, sp_validation_only=True)
        xml = settings.get_sp_metadata()
        text = xml.decode("utf-8") if isinstance(xml, bytes) else str(xml)
        errors = settings.validate_metadata(text)
        if errors:
            raise ValueError(f"invalid SP metadata: {errors}")
        return text

    def login_redirect(self, relay_state: str) -> tuple[str, str]:
        """The IdP URL to send the browser to (HTTP-Redirect binding), and the request's ID."""
        auth = OneLogin_Saml2_Auth(self._request(), self.settings)
        url = auth.login(return_to=relay_state)
        return str(url), str(auth.get_last_request_id())

    def validate(self, saml_response: str, request_id: str | None) -> SamlIdentity:
        """Check signature, audience, recipient, timestamps and InResponseTo; or raise."""
        OneLogin_Saml2_Constants.ALLOWED_CLOCK_DRIFT = self.clock_skew  # python3-saml reads this
        auth = OneLogin_Saml2_Auth(self._request({"SAMLResponse": saml_response}), self.settings)
        try:
            auth.process_response(request_id=request_id)
        except (OneLogin_Saml2_Error, ValueError, TypeError) as exc:
            raise SamlRejectedError(f"unreadable response: {str(exc)[:200]}") from None
        except Exception as exc:  # lxml, xmlsec, or a shape python3-saml did not expect: a 400
            reason = f"unreadable response ({type(exc).__name__}): {str(exc)[:200]}"
            raise SamlRejectedError(reason) from None
        if auth.get_errors() or not auth.is_authenticated():
            reason = auth.get_last_error_reason() or ", ".join(auth.get_errors()) or "invalid"
            raise SamlRejectedError(str(reason)[:500])
        in_response_to = auth.get_last_response_in_response_to()
        if request_id is None and in_response_to:
            raise SamlRejectedError(
                "the response answers a sign-in this portal did not start (unknown RelayState)"
            )
        if request_id is not None and in_response_to != request_id:
            raise SamlRejectedError("the response does not answer this portal's sign-in request")
        expiry = auth.get_last_assertion_not_on_or_after()
        return SamlIdentity(
            name_id=str(auth.get_nameid() or ""),
            name_id_format=auth.get_nameid_format(),
            attributes={k: [str(v) for v in vs] for k, vs in auth.get_attributes().items()},
            assertion_id=str(auth.get_last_assertion_id() or ""),
            not_on_or_after=datetime.fromtimestamp(expiry, UTC) if expiry else None,
            in_response_to=in_response_to,
        )

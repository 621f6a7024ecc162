"""SAML 2.0 sign-in: ``/saml/metadata``, ``/saml/login``, ``/saml/acs`` and ``/saml/logout``.

SP-initiated sign-ins keep their request id server-side, keyed by the RelayState the IdP posts
back; IdP-initiated ones (the AWS access portal tile) carry no InResponseTo. Every accepted
assertion id goes into a replay cache until it expires.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import timedelta
from typing import Annotated

import structlog
from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from changecast.access.models import Actor
from changecast.errors import MalformedInputError, NotFoundError, PermissionDeniedError
from changecast.identity_settings import SamlSettings
from changecast.web.auth.lifecycle import end_session, safe_path, start_session
from changecast.web.auth.roles import grant_for
from changecast.web.auth.saml_settings import SamlIdentity, SamlRejectedError, ServiceProvider
from changecast.web.deps import RuntimeDep

log = structlog.get_logger()
router = APIRouter(include_in_schema=False)
MAX_RESPONSE_CHARS = 512 * 1024
REPLAY_KEEP_WITHOUT_EXPIRY = timedelta(days=1)


class SignInRefusedError(PermissionDeniedError):
    """A valid assertion for someone this portal does not let in (403); the log says why."""

    kind = "sign_in_refused"


class InvalidSamlResponseError(MalformedInputError):
    """A response that does not validate: unreadable, unsigned, stale, replayed... (400)."""

    kind = "sign_in_refused"


def service_provider(request: Request) -> ServiceProvider:
    sp: ServiceProvider | None = request.app.state.saml
    if sp is None:
        raise NotFoundError("SAML sign-in is not configured (CHANGECAST_SAML__*)")
    return sp


@router.get("/saml/metadata")
def metadata(request: Request) -> Response:
    """The SP metadata to give the IdP (entity id, ACS URL, NameID format)."""
    return Response(service_provider(request).metadata(), media_type="application/xml")


@router.get("/saml/login")
def login(request: Request, runtime: RuntimeDep, next: str | None = None) -> Response:
    """Start an SP-initiated sign-in: remember the request id, send the browser to the IdP."""
    sp = service_provider(request)
    relay_key = secrets.token_urlsafe(32)
    url, request_id = sp.login_redirect(relay_key)
    expires = runtime.clock.now() + timedelta(seconds=runtime.settings.saml.request_ttl_seconds)
    runtime.signins.remember_request(relay_key, request_id, safe_path(next) or "/", expires)
    return RedirectResponse(url, status_code=303, headers={"cache-control": "no-store"})


def _refuse(reason: str, *, flow: str, message: str | None = None) -> SignInRefusedError:
    log.warning("saml_login_rejected", reason=reason, flow=flow)
    return SignInRefusedError(message or "sign-in refused")


def _invalid(reason: str, *, flow: str) -> InvalidSamlResponseError:
    log.warning("saml_login_rejected", reason=reason, flow=flow)
    return InvalidSamlResponseError(
        "sign-in refused: the identity provider's answer could not be verified"
    )


@router.post("/saml/acs")
def acs(
    request: Request,
    runtime: RuntimeDep,
    saml_response: Annotated[str, Form(alias="SAMLResponse")] = "",
    relay_state: Annotated[str, Form(alias="RelayState", max_length=1000)] = "",
) -> Response:
    """The IdP posts here. Accept a valid, fresh, signed assertion for a known group.

    A response that cannot be read or verified is a 400; a valid one for someone this portal does
    not let in is a 403. Either way the log says why.
    """
    sp = service_provider(request)
    now = runtime.clock.now()
    pending = runtime.signins.take_request(relay_state, now) if relay_state else None
    flow = "sp" if pending else "idp"
    if not saml_response.strip():
        raise _invalid("the form carries no SAMLResponse", flow=flow)
    if len(saml_response) > MAX_RESPONSE_CHARS:
        raise _invalid(
            f"the SAMLResponse is longer than {MAX_RESPONSE_CHARS} characters", flow=flow
        )
    try:
        identity = sp.validate(saml_response, pending[0] if pending else None)
    except SamlRejectedError as exc:
        raise _invalid(exc.reason, flow=flow) from None
    keep_until = identity.not_on_or_after or now + REPLAY_KEEP_WITHOUT_EXPIRY
    keep_until += timedelta(seconds=sp.clock_skew)
    if not identity.assertion_id or not runtime.signins.first_use(
        identity.assertion_id, keep_until, now
    ):
        raise _invalid("replayed assertion: its id was already used", flow=flow)
    actor = _actor(runtime.settings.saml, identity, runtime.directory.codes, flow=flow)
    target = pending[1] if pending else safe_path(relay_state) or "/"
    response = RedirectResponse(target, status_code=303)
    start_session(request, response, actor, method=f"saml-{flow}")
    return response


def _actor(
    saml: SamlSettings, identity: SamlIdentity, customers: Iterable[str], *, flow: str
) -> Actor:
    """The user an accepted assertion names, with the role its groups give."""
    email = _first(identity.attributes.get(saml.email_attribute))
    if not email and (identity.name_id_format or "").endswith("emailAddress"):
        email = identity.name_id
    email = email.strip().lower()
    domain = email.rpartition("@")[2]
    if "@" not in email or len(email) > 200:
        raise _refuse(
            "the assertion carries no email address",
            flow=flow,
            message="sign-in refused: the identity provider sent no email address",
        )
    if saml.allowed_email_domains and domain not in saml.allowed_email_domains:
        raise _refuse(
            f"email domain {domain!r} is not allowed",
            flow=flow,
            message="sign-in refused: your email domain may not use this portal",
        )
    grant = grant_for(identity.attributes.get(saml.groups_attribute, []), saml.roles, customers)
    if grant is None:
        raise _refuse(
            "no recognised group",
            flow=flow,
            message="sign-in refused: you are in no changecast group; ask for one to be assigned",
        )
    name = _first(identity.attributes.get(saml.name_attribute)) or email
    return Actor(email=email, display_name=name[:200], role=grant.role, customers=grant.customers)


def _first(values: list[str] | None) -> str:
    return values[0].strip() if values else ""


@router.post("/saml/logout")
def logout(request: Request, runtime: RuntimeDep) -> Response:
    """End the session here; then the IdP's sign-out page, if one is configured."""
    target = runtime.settings.saml.idp_slo_url or "/signin"
    response = RedirectResponse(target, status_code=303)
    end_session(request, response)
    return response

"""Customer sign-off pages: a signed link opens a confirm page (GET changes nothing); POST answers.

No session is needed: the link itself is the credential. The confirm form posts the token back
with a nonce signed for this token (purpose ``signoff-form``, two hours), so a POST only counts
when it comes from a confirm page we rendered. That is the CSRF defence without a session: a
forged cross-site POST needs the recipient's unguessable token, and a link scanner that only
GETs never answers. When the visitor also has a portal session, the form carries its CSRF token
too (the app-wide check asks for it).
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from changecast.access.links import LinkError, LinkExpiredError, LinkSigner, LinkUsedError
from changecast.access.signoff import Decision, SignoffLinks, SignoffRecord, signoff_key
from changecast.actions.signoffs import SignoffDeps, SignoffRefusedError, answer, look
from changecast.bootstrap import Runtime
from changecast.errors import ChangecastError, InvalidInputError, NotFoundError
from changecast.web.auth.address import client_address
from changecast.web.deps import RuntimeDep, current_session
from changecast.web.pages.forms import FormDep
from changecast.web.pages.templating import render

router = APIRouter(include_in_schema=False)

NONCE_PURPOSE = "signoff-form"
NONCE_TTL = timedelta(hours=2)
TITLES = {
    "invalid": "This link is not valid",
    "expired": "This link has expired",
    "used": "This link was already used",
    "stale": "This link is for an older version",
    "closed": "This change is no longer awaiting approval",
    "unavailable": "Sign-off links are not enabled",
}
STATUS = {"invalid": 404, "expired": 410, "used": 409, "stale": 409, "closed": 409}


def _links(runtime: Runtime) -> SignoffLinks:
    links = runtime.signoff_links
    if links is None:
        raise NotFoundError("sign-off links are not enabled on this portal")
    return links


def _deps(runtime: Runtime) -> SignoffDeps:
    return SignoffDeps(
        links=_links(runtime), archive=runtime.archive, clock=runtime.clock, audit=runtime.audit
    )


def _bound(token: str) -> dict[str, str]:
    return {"t": hashlib.sha256(token.encode()).hexdigest()[:43]}


def _nonce(signer: LinkSigner, runtime: Runtime, token: str) -> str:
    return signer.sign(NONCE_PURPOSE, _bound(token), expires_at=runtime.clock.now() + NONCE_TTL)


def _check_nonce(signer: LinkSigner, runtime: Runtime, token: str, nonce: str) -> None:
    try:
        claims = signer.verify(NONCE_PURPOSE, nonce, now=runtime.clock.now())
    except LinkExpiredError:
        raise InvalidInputError("the confirm page was open too long; open the link again") from None
    except LinkError:
        raise InvalidInputError("confirm from the page the link opens") from None
    if dict(claims.fields) != _bound(token):
        raise InvalidInputError("confirm from the page the link opens")


def _reason(exc: ChangecastError) -> str:
    if isinstance(exc, SignoffRefusedError):
        return exc.reason
    if isinstance(exc, LinkUsedError):
        return "used"
    if isinstance(exc, LinkExpiredError):
        return "expired"
    if isinstance(exc, NotFoundError) and "not enabled" in exc.message:
        return "unavailable"
    return "invalid"


def _refused(request: Request, exc: ChangecastError) -> HTMLResponse:
    reason = _reason(exc)
    context: dict[str, Any] = {
        "state": "refused",
        "reason": reason,
        "heading": TITLES[reason],
        "message": exc.message,
    }
    viewer = None
    return render(request, "pages/signoff.html", viewer, context, status=STATUS.get(reason, 404))


@router.get("/signoff/{token}", response_class=HTMLResponse)
def signoff_page(request: Request, token: str, runtime: RuntimeDep) -> HTMLResponse:
    """Show the version and ask to confirm; never changes anything.

    ``?answered=1`` (where an answer redirects) shows the recorded answer of this link.
    """
    if request.query_params.get("answered"):
        done = _answered(request, runtime, token)
        if done is not None:
            return done
    try:
        deps = _deps(runtime)
        view = look(deps, token)
    except (LinkError, LinkUsedError, SignoffRefusedError, NotFoundError) as exc:
        return _refused(request, exc)
    context: dict[str, Any] = {
        "state": "confirm",
        "link": view.link,
        "change": view.change,
        "customer_name": _customer_name(runtime, view.link.customer_code),
        "approve": view.link.decision is Decision.APPROVE,
        "token": token,
        "nonce": _nonce(deps.links.signer, runtime, token),
        "signed_in": current_session(request) is not None,
    }
    response = render(request, "pages/signoff.html", None, context)
    response.headers["referrer-policy"] = "no-referrer"
    return response


def _answered(request: Request, runtime: Runtime, token: str) -> HTMLResponse | None:
    """The page of a link's recorded answer; None when the link has none (or is not genuine)."""
    try:
        link = _links(runtime).read(token, now=runtime.clock.now())
        key = signoff_key(link.change_id, link.version, link.customer_code, link.recipient)
        record = SignoffRecord.model_validate_json(runtime.archive.store.get(key).body)
    except (LinkError, NotFoundError):
        return None
    return _done(request, runtime, record)


def _done(request: Request, runtime: Runtime, record: SignoffRecord) -> HTMLResponse:
    context: dict[str, Any] = {
        "state": "done",
        "record": record,
        "customer_name": _customer_name(runtime, record.customer_code),
        "heading": "Approved" if record.decision is Decision.APPROVE else "Rejected",
    }
    response = render(request, "pages/signoff.html", None, context)
    response.headers["referrer-policy"] = "no-referrer"
    return response


@router.post("/signoff/{token}", response_class=HTMLResponse)
def signoff_answer(request: Request, token: str, form: FormDep, runtime: RuntimeDep) -> Response:
    """Record the link's decision once, with the comment; a refusal changes nothing."""
    address = client_address(request, runtime.settings.web.trusted_proxy_hops)
    try:
        deps = _deps(runtime)
        look(deps, token)  # a link that cannot be used gets its page, whatever the form holds
        _check_nonce(deps.links.signer, runtime, token, str(form.get("nonce") or ""))
        answer(deps, token, comment=str(form.get("comment") or ""), source_ip=address)
    except InvalidInputError as exc:
        if isinstance(exc, LinkError):
            return _refused(request, exc)
        bad = {"state": "bad_form", "heading": "Not recorded", "message": exc.message}
        return render(request, "pages/signoff.html", None, bad, status=422)
    except (LinkUsedError, SignoffRefusedError, NotFoundError) as exc:
        return _refused(request, exc)
    return RedirectResponse(f"/signoff/{token}?answered=1", status_code=303)


def _customer_name(runtime: Runtime, code: str) -> str:
    try:
        return runtime.directory.get(code).customer_name
    except NotFoundError:
        return code

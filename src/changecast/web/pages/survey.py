"""Post-change survey pages: a signed link opens the form (GET changes nothing); POST answers.

No session and no JavaScript are needed: the link is the credential, the form is plain HTML.
As on the sign-off pages, the form posts back a nonce signed for this token (purpose
``survey-form``), so only a POST from a form we rendered counts, and a link scanner that only
GETs never answers. A used, expired or tampered link gets a page that says which.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from changecast.access.links import LinkError, LinkExpiredError, LinkSigner, LinkUsedError
from changecast.access.survey import (
    SurveyAnswer,
    SurveyLink,
    SurveyLinks,
    parse_answer,
    survey_key,
)
from changecast.bootstrap import Runtime
from changecast.errors import ChangecastError, InvalidInputError, NotFoundError, UpstreamError
from changecast.ids import ChangeId
from changecast.web.deps import RuntimeDep, current_session
from changecast.web.pages.forms import FormDep
from changecast.web.pages.templating import render

router = APIRouter(include_in_schema=False)
log = structlog.get_logger()

NONCE_PURPOSE = "survey-form"
NONCE_TTL = timedelta(hours=12)
TITLES = {
    "invalid": "This link is not valid",
    "expired": "This survey link has expired",
    "used": "You already answered this survey",
    "unavailable": "Surveys are not enabled",
}
MESSAGES = {
    "invalid": "the link was changed or cut short; open it again from the survey email",
    "expired": "survey links can be answered for 30 days after the change was completed",
    "used": "each link records one answer, and yours is recorded; thank you",
    "unavailable": "this portal has no link secret, so it cannot check survey links",
}
STATUS = {"invalid": 404, "expired": 410, "used": 409, "unavailable": 404}


def _links(runtime: Runtime) -> SurveyLinks:
    links = runtime.survey_links
    if links is None:
        raise NotFoundError("surveys are not enabled on this portal")
    return links


def _bound(token: str) -> dict[str, str]:
    return {"t": hashlib.sha256(token.encode()).hexdigest()[:43]}


def _check_nonce(signer: LinkSigner, runtime: Runtime, token: str, nonce: str) -> None:
    try:
        claims = signer.verify(NONCE_PURPOSE, nonce, now=runtime.clock.now())
    except LinkError:
        raise InvalidInputError("answer from the page the survey link opens") from None
    if dict(claims.fields) != _bound(token):
        raise InvalidInputError("answer from the page the survey link opens")


def _reason(exc: ChangecastError) -> str:
    if isinstance(exc, LinkUsedError):
        return "used"
    if isinstance(exc, LinkExpiredError):
        return "expired"
    if isinstance(exc, NotFoundError):
        return "unavailable"
    return "invalid"


def _refused(request: Request, exc: ChangecastError) -> HTMLResponse:
    reason = _reason(exc)
    context = {"state": "refused", "reason": reason, "heading": TITLES[reason]}
    context["message"] = MESSAGES[reason]
    return render(request, "pages/survey.html", None, context, status=STATUS[reason])


def _open(runtime: Runtime, token: str) -> tuple[SurveyLinks, SurveyLink]:
    links = _links(runtime)
    link = links.read(token, now=runtime.clock.now())
    if links.answered(runtime.store, link):
        raise LinkUsedError("this link was already used")
    return links, link


def _form(
    request: Request, runtime: Runtime, token: str, link: SurveyLink, **extra: Any
) -> HTMLResponse:
    links = _links(runtime)
    change = runtime.archive.get_latest(ChangeId(link.change_id)).change
    context: dict[str, Any] = {
        "state": "form",
        "link": link,
        "title": change.title,
        "customer_name": _customer_name(runtime, link.customer_code),
        "token": token,
        "nonce": links.signer.sign(
            NONCE_PURPOSE, _bound(token), expires_at=runtime.clock.now() + NONCE_TTL
        ),
        "signed_in": current_session(request) is not None,
        "rating": "",
        "comment": "",
        **extra,
    }
    response = render(
        request, "pages/survey.html", None, context, status=422 if "error" in extra else 200
    )
    response.headers["referrer-policy"] = "no-referrer"
    return response


@router.get("/survey/{token}", response_class=HTMLResponse)
def survey_page(request: Request, token: str, runtime: RuntimeDep) -> HTMLResponse:
    """The form: a 1-5 rating and a comment; never changes anything.

    ``?answered=1`` (where an answer redirects) thanks the recipient for the stored answer.
    """
    if request.query_params.get("answered"):
        done = _answered(request, runtime, token)
        if done is not None:
            return done
    try:
        _, link = _open(runtime, token)
    except (LinkError, LinkUsedError, NotFoundError) as exc:
        return _refused(request, exc)
    return _form(request, runtime, token, link)


def _answered(request: Request, runtime: Runtime, token: str) -> HTMLResponse | None:
    """The thank-you page of a link's stored answer; None when there is none."""
    try:
        link = _links(runtime).read(token, now=runtime.clock.now())
        key = survey_key(link.change_id, link.customer_code, link.recipient)
        answer = SurveyAnswer.model_validate_json(runtime.store.get(key).body)
    except (LinkError, NotFoundError):
        return None
    context = {"state": "done", "answer": answer, "heading": "Thank you"}
    context["customer_name"] = _customer_name(runtime, answer.customer_code)
    response = render(request, "pages/survey.html", None, context)
    response.headers["referrer-policy"] = "no-referrer"
    return response


@router.post("/survey/{token}", response_class=HTMLResponse)
def survey_answer(request: Request, token: str, form: FormDep, runtime: RuntimeDep) -> Response:
    """Record the answer once; a refusal changes nothing."""
    rating, comment = str(form.get("rating") or ""), str(form.get("comment") or "")
    try:
        links, link = _open(runtime, token)
    except (LinkError, LinkUsedError, NotFoundError) as exc:
        return _refused(request, exc)
    try:
        _check_nonce(links.signer, runtime, token, str(form.get("nonce") or ""))
        value, text = parse_answer(rating, comment)
        answer = links.answer(
            runtime.store, token, rating=value, comment=text, now=runtime.clock.now()
        )
    except LinkUsedError as exc:  # a second answer raced this one
        return _refused(request, exc)
    except InvalidInputError as exc:
        if isinstance(exc, LinkError):
            return _refused(request, exc)
        return _form(
            request, runtime, token, link, error=exc.message, rating=rating, comment=comment[:1000]
        )
    if runtime.has_database:
        try:
            runtime.surveys.record(answer)
        except UpstreamError:  # S3 holds the answer; `index rebuild` restores the index
            log.warning("survey_index_write_failed", change_id=answer.change_id)
    return RedirectResponse(f"/survey/{token}?answered=1", status_code=303)


def _customer_name(runtime: Runtime, code: str) -> str:
    try:
        return runtime.directory.get(code).customer_name
    except NotFoundError:
        return code

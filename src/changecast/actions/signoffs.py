"""Customer sign-off use cases: look at a sign-off link (never a change), and answer through it.

The answer is written to S3 first (the single-use marker is the record), then audited. A link
is refused, with a reason a person can read, when it is not genuine, expired, already used, for
an older version, or for a change no longer awaiting approval; a refusal changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from changecast.access.links import LinkInvalidError, use_once
from changecast.access.models import Actor, Role
from changecast.access.signoff import (
    COMMENT_MAX,
    Decision,
    SignoffLink,
    SignoffLinks,
    SignoffRecord,
    signoff_key,
)
from changecast.audit.models import AuditAction
from changecast.audit.ports import AuditSink
from changecast.audit.service import new_event
from changecast.changes.archive import ChangeArchive
from changecast.changes.models import Change, ChangeStatus
from changecast.errors import ConflictError, InvalidInputError, NotFoundError
from changecast.ids import ChangeId
from changecast.ports import Clock
from changecast.text_input import checked


class SignoffRefusedError(ConflictError):
    """A genuine link that cannot be used now; ``reason`` is ``stale``, ``closed`` or ``used``."""

    def __init__(self, message: str, *, reason: str, **context: object) -> None:
        super().__init__(message, **context)
        self.reason = reason


@dataclass(frozen=True)
class SignoffDeps:
    """What the sign-off use cases need."""

    links: SignoffLinks
    archive: ChangeArchive
    clock: Clock
    audit: AuditSink | None = None


@dataclass(frozen=True)
class SignoffView:
    """A usable link and the version it answers for (what the confirm page shows)."""

    link: SignoffLink
    change: Change


def look(deps: SignoffDeps, token: str) -> SignoffView:
    """Check a link without using it: genuine, unexpired, unused, current version, still open."""
    link = deps.links.read(token, now=deps.clock.now())
    change = _current(deps, link)
    if deps.archive.store.exists(_key(link)):
        raise SignoffRefusedError(
            f"{link.recipient} already answered for {link.customer_code} on version "
            f"{link.version}; a sign-off link works once",
            reason="used",
        )
    return SignoffView(link=link, change=change)


def answer(
    deps: SignoffDeps, token: str, *, comment: str = "", source_ip: str | None = None
) -> SignoffRecord:
    """Record the link's decision once (S3, then the audit trail) and return the record."""
    view = look(deps, token)
    link = view.link
    text = _comment(comment)
    record = SignoffRecord(
        change_id=link.change_id,
        version=link.version,
        customer_code=link.customer_code,
        recipient=link.recipient,
        decision=link.decision,
        comment=text,
        at=deps.clock.now(),
        source_ip=source_ip,
    )
    body = record.model_dump_json(by_alias=True).encode()
    try:
        use_once(deps.archive.store, _key(link), body)
    except ConflictError:
        raise SignoffRefusedError(
            "this sign-off link was already used; a sign-off link works once", reason="used"
        ) from None
    _audit(deps, record)
    return record


def _key(link: SignoffLink) -> str:
    return signoff_key(link.change_id, link.version, link.customer_code, link.recipient)


def _current(deps: SignoffDeps, link: SignoffLink) -> Change:
    try:
        change = deps.archive.get_latest(ChangeId(link.change_id)).change
    except NotFoundError:
        raise LinkInvalidError("the link is not valid") from None
    if link.customer_code not in change.customer_codes:
        raise LinkInvalidError("the link is not valid")
    if change.version != link.version:
        raise SignoffRefusedError(
            f"this link is for version {link.version}, but the change is now at version "
            f"{change.version}; use the link in the approval request for version "
            f"{change.version}",
            reason="stale",
        )
    if change.status is not ChangeStatus.SUBMITTED:
        raise SignoffRefusedError(
            f"version {change.version} is no longer awaiting approval (it is "
            f"{change.status.value})",
            reason="closed",
        )
    return change


def _comment(comment: str) -> str:
    # one line (it is quoted in emails), checked before trimming: a trailing CR/LF is refused
    text = checked(comment, field="comment").strip()
    if len(text) > COMMENT_MAX:
        raise InvalidInputError(f"the comment is longer than {COMMENT_MAX} characters")
    return text


def _audit(deps: SignoffDeps, record: SignoffRecord) -> None:
    if deps.audit is None:
        return
    actor = Actor(email=record.recipient, role=Role.READ_ONLY, source_ip=record.source_ip)
    event = new_event(
        actor=actor,
        action=AuditAction.SIGNOFF,
        clock=deps.clock,
        change_id=record.change_id,
        version=record.version,
        customers=[record.customer_code],
        comment=record.comment or None,
        detail={
            "decision": record.decision.value,
            "customer": record.customer_code,
            "via": "signed link (a customer contact, not a portal user)",
        },
    )
    deps.audit.record(event)


__all__ = ["Decision", "SignoffDeps", "SignoffRefusedError", "SignoffView", "answer", "look"]

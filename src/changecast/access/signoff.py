"""Customer sign-off by signed link: the links, the records (S3) and each customer's answer.

A link binds change id, version, customer, recipient and decision (approve or reject) and expires
``ttl`` after the version was written; a newer version ends it too (checked when it is used). The
record of a sign-off is its single-use marker ``signoffs/{changeId}/v{version}/{customer}/
{recipientHash}.json``: one answer per recipient and version, whichever link is used first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from changecast import layout
from changecast.access.links import LinkClaims, LinkInvalidError, LinkSigner, recipient_hash
from changecast.changes.models import Change
from changecast.delivery.personal import APPROVE_PLACEHOLDER, REJECT_PLACEHOLDER
from changecast.errors import NotFoundError
from changecast.ids import parse_change_id, parse_customer_code
from changecast.ports import ObjectStore

PURPOSE = "signoff"
COMMENT_MAX = 1_000


class Decision(StrEnum):
    """What a customer contact answers."""

    APPROVE = "approve"
    REJECT = "reject"


class CustomerAnswer(StrEnum):
    """A customer's answer on one version: any rejection wins over approvals."""

    SIGNED_OFF = "signed off"
    REJECTED = "rejected"
    NO_ANSWER = "no answer"


@dataclass(frozen=True)
class SignoffLink:
    """What a verified sign-off link stands for."""

    change_id: str
    version: int
    customer_code: str
    recipient: str
    decision: Decision
    expires_at: datetime


class SignoffRecord(BaseModel):
    """One recorded answer (the JSON of the marker object; camelCase like the change documents)."""

    model_config = ConfigDict(frozen=True, alias_generator=to_camel, populate_by_name=True)

    change_id: str
    version: int = Field(ge=1)
    customer_code: str
    recipient: str = Field(max_length=254)
    decision: Decision
    comment: str = Field(default="", max_length=COMMENT_MAX)
    at: datetime
    source_ip: str | None = Field(default=None, max_length=100)


def signoff_prefix(change_id: str, version: int) -> str:
    return layout.signoff_prefix(parse_change_id(change_id), int(version))


def signoff_key(change_id: str, version: int, customer_code: str, recipient: str) -> str:
    """The marker of one recipient's answer on one version (ids validated before the key)."""
    code = parse_customer_code(customer_code)
    return layout.signoff_key(
        parse_change_id(change_id), int(version), code, recipient_hash(recipient)
    )


@dataclass(frozen=True)
class SignoffLinks:
    """Signs sign-off links; one instance serves the worker (``RecipientLinks``) and the portal."""

    signer: LinkSigner
    portal_base_url: str
    ttl: timedelta

    def token(self, change: Change, customer_code: str, recipient: str, decision: Decision) -> str:
        fields = {
            "c": change.change_id,
            "v": str(change.version),
            "k": customer_code,
            "r": recipient.strip().lower(),
            "d": decision.value,
        }
        return self.signer.sign(PURPOSE, fields, expires_at=change.modified_at + self.ttl)

    def url(self, token: str) -> str:
        return f"{self.portal_base_url.rstrip('/')}/signoff/{token}"

    def for_recipient(
        self, *, change: Change, customer_code: str, recipient: str
    ) -> Mapping[str, str]:
        """The recipient's Approve and Reject URLs, for the approval request's placeholders."""
        return {
            APPROVE_PLACEHOLDER: self.url(
                self.token(change, customer_code, recipient, Decision.APPROVE)
            ),
            REJECT_PLACEHOLDER: self.url(
                self.token(change, customer_code, recipient, Decision.REJECT)
            ),
        }

    def read(self, token: str, *, now: datetime) -> SignoffLink:
        """The link a token stands for; a ``LinkError`` when it is not genuine or has expired."""
        return _link(self.signer.verify(PURPOSE, token, now=now))


def _link(claims: LinkClaims) -> SignoffLink:
    fields = claims.fields
    try:
        return SignoffLink(
            change_id=str(parse_change_id(fields["c"])),
            version=int(fields["v"]),
            customer_code=str(parse_customer_code(fields["k"])),
            recipient=fields["r"],
            decision=Decision(fields["d"]),
            expires_at=claims.expires_at,
        )
    except (KeyError, ValueError):  # a signed token we never made; refuse it all the same
        raise LinkInvalidError("the link is not valid") from None


def read_signoffs(store: ObjectStore, change_id: str, version: int) -> list[SignoffRecord]:
    """Every answer recorded on one version, oldest first."""
    keys = list(store.list_keys(signoff_prefix(change_id, version)))

    def one(key: str) -> SignoffRecord | None:
        try:
            return SignoffRecord.model_validate_json(store.get(key).body)
        except NotFoundError:
            return None

    if len(keys) <= 1:
        found = [one(key) for key in keys]
    else:
        with ThreadPoolExecutor(max_workers=min(8, len(keys))) as pool:
            found = list(pool.map(one, keys))
    return sorted((r for r in found if r is not None), key=lambda r: r.at)


@dataclass(frozen=True)
class CustomerSignoff:
    """One customer's answer on a version, with the records behind it."""

    customer_code: str
    customer_name: str
    answer: CustomerAnswer
    records: Sequence[SignoffRecord]


def answers(
    customer_codes: Sequence[str],
    version: int,
    records: Sequence[SignoffRecord],
    names: Mapping[str, str] | None = None,
) -> list[CustomerSignoff]:
    """Each customer with its answer on ``version``, in the order given."""
    names = names or {}
    out = []
    for code in customer_codes:
        mine = [r for r in records if r.customer_code == code and r.version == version]
        if any(r.decision is Decision.REJECT for r in mine):
            answer = CustomerAnswer.REJECTED
        elif mine:
            answer = CustomerAnswer.SIGNED_OFF
        else:
            answer = CustomerAnswer.NO_ANSWER
        out.append(CustomerSignoff(code, names.get(code, code), answer, mine))
    return out

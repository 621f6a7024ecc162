"""Post-change surveys by signed link: one 1-5 rating and one comment per recipient and change.

A link binds change id, customer and recipient and expires ``ttl`` after the change was
completed. The answer is the link's single-use marker ``surveys/{changeId}/{customer}/
{recipientHash}.json`` (``access.links.use_once``): a second answer is refused as "used".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from changecast import layout
from changecast.access.links import (
    LinkClaims,
    LinkInvalidError,
    LinkSigner,
    recipient_hash,
    use_once,
)
from changecast.changes.models import Change
from changecast.delivery.personal import SURVEY_PLACEHOLDER
from changecast.errors import InvalidInputError
from changecast.ids import parse_change_id, parse_customer_code
from changecast.ports import ObjectStore
from changecast.text_input import checked

PURPOSE = "survey"
TTL = timedelta(days=30)
"""How long after completion a survey link can be answered."""
COMMENT_MAX = 1_000
RATINGS = (1, 2, 3, 4, 5)


class SurveyAnswer(BaseModel):
    """One stored answer (camelCase JSON, like the change documents); no address, only its hash."""

    model_config = ConfigDict(frozen=True, alias_generator=to_camel, populate_by_name=True)

    change_id: str
    customer_code: str
    recipient_hash: str = Field(pattern=r"^[0-9a-f]{32}$")
    rating: int = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=COMMENT_MAX)
    answered_at: datetime


class SurveyAnswers(Protocol):
    """Where answers are indexed (``index.surveys.SqlSurveyIndex``); recording twice is a no-op."""

    def record(self, answer: SurveyAnswer) -> None:
        """Store ``answer``; one already stored stays as it is."""
        ...


@dataclass(frozen=True)
class SurveyLink:
    """What a verified survey link stands for."""

    change_id: str
    customer_code: str
    recipient: str
    expires_at: datetime


def survey_key(change_id: str, customer_code: str, recipient: str) -> str:
    """The marker (and record) of one recipient's answer; ids are validated before the key."""
    return layout.survey_key(
        parse_change_id(change_id), parse_customer_code(customer_code), recipient_hash(recipient)
    )


def parse_answer(rating: str, comment: str) -> tuple[int, str]:
    """A form's rating (1-5) and comment, or an ``InvalidInputError`` a person can act on."""
    choice = rating.strip()
    # only the ASCII digits: str.isdigit() also takes U+00B2 (int() refuses it) and U+0665
    if not (choice.isascii() and choice.isdigit()) or int(choice) not in RATINGS:
        raise InvalidInputError("choose a rating from 1 (bad) to 5 (very good)", field="rating")
    # one line, checked before trimming: a trailing line break or control is refused too
    text = checked(comment, field="comment").strip()
    if len(text) > COMMENT_MAX:
        raise InvalidInputError(f"the comment is longer than {COMMENT_MAX} characters")
    return int(rating), text


@dataclass(frozen=True)
class SurveyLinks:
    """Signs survey links (the worker's ``RecipientLinks``) and records answers (the portal)."""

    signer: LinkSigner
    portal_base_url: str
    ttl: timedelta

    def token(self, change: Change, customer_code: str, recipient: str) -> str:
        fields = {"c": change.change_id, "k": customer_code, "r": recipient.strip().lower()}
        return self.signer.sign(PURPOSE, fields, expires_at=change.modified_at + self.ttl)

    def url(self, token: str) -> str:
        return f"{self.portal_base_url.rstrip('/')}/survey/{token}"

    def for_recipient(
        self, *, change: Change, customer_code: str, recipient: str
    ) -> Mapping[str, str]:
        """The recipient's own survey URL, for the survey email's placeholder."""
        return {SURVEY_PLACEHOLDER: self.url(self.token(change, customer_code, recipient))}

    def read(self, token: str, *, now: datetime) -> SurveyLink:
        """The link a token stands for; a ``LinkError`` when it is not genuine or has expired."""
        return _link(self.signer.verify(PURPOSE, token, now=now))

    def answer(
        self, store: ObjectStore, token: str, *, rating: int, comment: str, now: datetime
    ) -> SurveyAnswer:
        """Record the answer once; ``LinkUsedError`` when this recipient already answered."""
        link = self.read(token, now=now)
        answer = SurveyAnswer(
            change_id=link.change_id,
            customer_code=link.customer_code,
            recipient_hash=recipient_hash(link.recipient),
            rating=rating,
            comment=comment,
            answered_at=now,
        )
        key = survey_key(link.change_id, link.customer_code, link.recipient)
        use_once(store, key, answer.model_dump_json(by_alias=True).encode())
        return answer

    def answered(self, store: ObjectStore, link: SurveyLink) -> bool:
        """Whether the recipient of ``link`` answered already (the page says so up front)."""
        return store.exists(survey_key(link.change_id, link.customer_code, link.recipient))


def _link(claims: LinkClaims) -> SurveyLink:
    fields = claims.fields
    try:
        return SurveyLink(
            change_id=str(parse_change_id(fields["c"])),
            customer_code=parse_customer_code(fields["k"]),
            recipient=fields["r"],
            expires_at=claims.expires_at,
        )
    except (KeyError, ValueError, InvalidInputError):
        raise LinkInvalidError("the link is not valid") from None


def read_answers(store: ObjectStore, change_id: str) -> list[SurveyAnswer]:
    """Every stored answer of a change, by customer (one LIST and a GET per answer)."""
    found = []
    for key in store.list_keys(layout.survey_prefix(parse_change_id(change_id))):
        try:
            found.append(SurveyAnswer.model_validate_json(store.get(key).body))
        except ValidationError:
            continue  # not ours to show; the index rebuild reports it
    return sorted(found, key=lambda a: (a.customer_code, a.answered_at))


@dataclass(frozen=True)
class CustomerSurvey:
    """One customer's survey answers on a change (or over a period): count and mean rating."""

    customer_code: str
    answers: int
    average: float


def by_customer(answers: list[SurveyAnswer]) -> list[CustomerSurvey]:
    """The answers grouped per customer, sorted by customer code."""
    grouped: dict[str, list[int]] = {}
    for answer in answers:
        grouped.setdefault(answer.customer_code, []).append(answer.rating)
    return [
        CustomerSurvey(code, len(ratings), round(sum(ratings) / len(ratings), 2))
        for code, ratings in sorted(grouped.items())
    ]

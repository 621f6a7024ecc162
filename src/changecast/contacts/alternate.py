"""Pure alternate-contact logic: the contact file, and what set or delete would do per account.

Existing contacts are left alone (and reported) unless the caller asks to overwrite them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator

from changecast.contacts.models import AlternateContact, AlternateContactType, OrgAccount
from changecast.customers.models import is_email
from changecast.errors import InvalidInputError, problems_from_pydantic
from changecast.text_input import one_line

AccountContacts = Mapping[AlternateContactType, AlternateContact | None]


class ContactFileError(InvalidInputError):
    """The alternate-contact file is not JSON or does not validate."""


class _Person(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    # one line, no control characters (the input rule of every free-text field)
    name: Annotated[str, AfterValidator(one_line)] = Field(
        alias="Name", min_length=1, max_length=64
    )
    title: Annotated[str, AfterValidator(one_line)] = Field(
        alias="Title", min_length=1, max_length=50
    )
    email: str = Field(alias="EmailAddress", min_length=3, max_length=254)
    phone: str = Field(alias="PhoneNumber", min_length=1, max_length=25, pattern=r"^[ 0-9()+-]+$")

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        if not is_email(value):
            raise ValueError("not an email address")
        return value


class _ContactFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    billing: _Person | None = None
    operations: _Person | None = None
    security: _Person | None = None


def parse_contact_file(text: str, *, source: str) -> dict[AlternateContactType, AlternateContact]:
    """``{"billing": {"name", "title", "email", "phone"}, "operations": ..., "security": ...}``.

    Keys are case-insensitive; the Account API's field names (``EmailAddress``...) also work.
    """
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ContactFileError(
            f"{source}: not valid JSON: {exc.msg} at line {exc.lineno}"
        ) from None
    if not isinstance(raw, dict):
        raise ContactFileError(f"{source}: expected an object keyed by contact type")
    lowered = {str(key).lower(): value for key, value in raw.items()}
    try:
        parsed = _ContactFile.model_validate(lowered)
    except ValidationError as exc:
        problems = problems_from_pydantic(exc.errors())
        lines = "; ".join(f"{p.field}: {p.problem}" for p in problems[:5])
        raise ContactFileError(f"{source}: {lines}", details=problems) from None
    found: dict[AlternateContactType, AlternateContact] = {}
    for kind in AlternateContactType:
        person: _Person | None = getattr(parsed, kind.value.lower())
        if person is not None:
            found[kind] = AlternateContact(contact_type=kind, **person.model_dump())
    if not found:
        raise ContactFileError(f"{source}: names no contact (billing, operations or security)")
    return found


class AltAction(StrEnum):
    SET = "set"
    REPLACE = "replace"
    KEEP_EXISTING = "keep-existing"
    UNCHANGED = "unchanged"
    DELETE = "delete"
    ABSENT = "absent"
    SHOW = "show"


PENDING_ALT_ACTIONS = frozenset({AltAction.SET, AltAction.REPLACE, AltAction.DELETE})


class AltChange(BaseModel):
    """One (account, contact type) line of a plan."""

    model_config = ConfigDict(frozen=True)

    account_id: str
    account_name: str = ""
    contact_type: AlternateContactType
    action: AltAction
    before: AlternateContact | None = None
    after: AlternateContact | None = None

    @property
    def pending(self) -> bool:
        return self.action in PENDING_ALT_ACTIONS


def _set_action(
    before: AlternateContact | None, wanted: AlternateContact, overwrite: bool
) -> AltAction:
    if before is None:
        return AltAction.SET
    if before.same_person(wanted):
        return AltAction.UNCHANGED
    return AltAction.REPLACE if overwrite else AltAction.KEEP_EXISTING


def plan_set(
    state: Iterable[tuple[OrgAccount, AccountContacts]],
    wanted: Mapping[AlternateContactType, AlternateContact],
    *,
    overwrite: bool = False,
) -> tuple[AltChange, ...]:
    """Per account and wanted type: set when absent, replace only with ``overwrite``."""
    changes: list[AltChange] = []
    for account, current in state:
        for kind, contact in sorted(wanted.items()):
            before = current.get(kind)
            changes.append(
                AltChange(
                    account_id=account.account_id,
                    account_name=account.name,
                    contact_type=kind,
                    action=_set_action(before, contact, overwrite),
                    before=before,
                    after=contact,
                )
            )
    return tuple(changes)


def plan_delete(
    state: Iterable[tuple[OrgAccount, AccountContacts]],
    kinds: Iterable[AlternateContactType],
) -> tuple[AltChange, ...]:
    """Per account and type: delete when present, else report it absent."""
    chosen = sorted(set(kinds))
    return tuple(
        AltChange(
            account_id=account.account_id,
            account_name=account.name,
            contact_type=kind,
            action=AltAction.DELETE if current.get(kind) else AltAction.ABSENT,
            before=current.get(kind),
        )
        for account, current in state
        for kind in chosen
    )


def describe(state: Iterable[tuple[OrgAccount, AccountContacts]]) -> tuple[AltChange, ...]:
    """What ``show`` prints: each account's current contacts."""
    return tuple(
        AltChange(
            account_id=account.account_id,
            account_name=account.name,
            contact_type=kind,
            action=AltAction.SHOW,
            before=contact,
        )
        for account, current in state
        for kind, contact in sorted(current.items())
    )

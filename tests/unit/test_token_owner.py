"""A token acts as its owner now, within the ceiling it was made with; old records still load."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from changecast.access.models import Role
from changecast.access.tokens import ApiToken, TokenEndedError, narrowest
from changecast.access.users import KnownUser

AT = datetime(2030, 1, 1, tzinfo=UTC)
CM, CUST, RO, AUD = Role.CHANGE_MANAGER, Role.CUSTOMER_MANAGER, Role.READ_ONLY, Role.AUDITOR
NONE: frozenset[str] = frozenset()
ACME, GLOBEX = frozenset({"acme"}), frozenset({"globex"})
BOTH = ACME | GLOBEX


def token(role: Role, customers: list[str] | None = None) -> ApiToken:
    """A record as 0002 stored it: with the creator's role and customers."""
    return ApiToken.model_validate(
        {
            "token_id": "00000000-0000-4000-8000-000000000001",
            "name": "ci",
            "email": "Owner@ccoe.example.com",
            "role": role.value,
            "customers": customers or [],
            "created_at": AT,
        }
    )


def owner(role: Role, customers: list[str] | None = None, **extra: object) -> KnownUser:
    fields = {"updated_at": AT, "customers": customers or [], **extra}
    return KnownUser.model_validate({"email": "owner@ccoe.example.com", "role": role, **fields})


@pytest.mark.parametrize(
    ("current", "ceiling", "expected"),
    [
        ((CM, NONE), (CM, NONE), (CM, NONE)),
        ((RO, NONE), (CM, NONE), (RO, NONE)),  # demoted: the token narrows
        ((CM, NONE), (RO, NONE), (RO, NONE)),  # promoted: the ceiling holds
        ((CUST, ACME), (CM, NONE), (CUST, ACME)),
        ((CM, NONE), (CUST, BOTH), (CUST, BOTH)),
        ((CUST, ACME), (CUST, BOTH), (CUST, ACME)),  # lost globex: so does the token
        ((CUST, BOTH), (CUST, ACME), (CUST, ACME)),  # gained globex: the token did not
        ((CUST, GLOBEX), (CUST, ACME), None),  # nothing in common
        ((CM, NONE), (AUD, NONE), (RO, NONE)),
        ((AUD, NONE), (CM, NONE), (RO, NONE)),
        ((RO, NONE), (AUD, NONE), (RO, NONE)),
        ((AUD, NONE), (AUD, NONE), (AUD, NONE)),
        ((RO, NONE), (CUST, ACME), None),  # ReadOnly reads every customer: not narrower
        ((CUST, ACME), (RO, NONE), None),
        ((CUST, ACME), (AUD, NONE), None),
    ],
)
def test_narrowest_never_exceeds_either_grant(
    current: tuple[Role, frozenset[str]],
    ceiling: tuple[Role, frozenset[str]],
    expected: tuple[Role, frozenset[str]] | None,
) -> None:
    assert narrowest(current, ceiling) == expected


def test_an_old_record_acts_with_the_owners_current_role_capped_by_its_stored_one() -> None:
    made_as_manager = token(CUST, ["acme", "globex"])
    actor = made_as_manager.actor(owner(CUST, ["acme"], display_name="Owner Now"))
    assert (actor.email, actor.role, actor.customers) == ("owner@ccoe.example.com", CUST, ACME)
    assert actor.display_name == "Owner Now"
    assert token(CM).actor(owner(RO)).role is RO


def test_a_removed_unknown_or_unfitting_owner_ends_the_token() -> None:
    with pytest.raises(TokenEndedError, match="was removed"):
        token(CM).actor(owner(CM, disabled_at=AT))
    with pytest.raises(TokenEndedError, match="must sign in"):
        token(CM).actor(None)
    with pytest.raises(TokenEndedError, match="cannot narrow to"):
        token(CUST, ["acme"]).actor(owner(RO))

"""The SELECTs shared by find() and statistics(): exact filters, newest-first pages, counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    exists,
    func,
    literal_column,
    or_,
    select,
    union,
)

from changecast.changes.models import ChangeQuery, ChangeStatus
from changecast.index.fulltext import NEWEST_FIRST, SUMMARY_COLUMNS, AnySelect
from changecast.index.tables import change_customers, changes

UPCOMING_WINDOW = timedelta(days=14)
UPCOMING_STATUSES = (ChangeStatus.SUBMITTED.value, ChangeStatus.APPROVED.value)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


WALK_ABOVE = 10_000
"""When more rows than this qualify, a newest-first page walks the recency index and checks the
customer filters as it goes, instead of starting from the customers' rows and sorting them."""


def _having_customers(codes: frozenset[str] | set[str], *, walk: bool) -> ColumnElement[bool]:
    row_id = changes.c.row_id + literal_column("0") if walk else changes.c.row_id
    return row_id.in_(
        select(change_customers.c.row_id).where(change_customers.c.customer_code.in_(codes))
    )


def scope(query: ChangeQuery, *, walk: bool = False) -> list[ColumnElement[bool]]:
    """Translate the exact filters of ``query`` (everything but the text) into SQL.

    ``walk``: many rows qualify and the caller wants the newest few (see ``WALK_ABOVE``).
    """
    clauses: list[ColumnElement[bool]] = []
    if query.status is not None:
        clauses.append(changes.c.status == query.status.value)
    if query.customer is not None:
        clauses.append(_having_customers({query.customer}, walk=walk))
    if query.created_by is not None:
        clauses.append(changes.c.created_by == query.created_by)
    if query.starts_from is not None:
        clauses.append(changes.c.start_utc >= _utc(query.starts_from))
    if query.starts_to is not None:
        clauses.append(changes.c.start_utc <= _utc(query.starts_to))
    clauses += _visible(query, walk=walk)
    if not query.include_drafts:
        clauses.append(changes.c.status != ChangeStatus.DRAFT.value)
    return clauses


def _names_customer(*, other_than: frozenset[str] | None = None) -> ColumnElement[bool]:
    """The change names a customer (one not in ``other_than``, when given); a PK lookup."""
    condition = change_customers.c.change_id == changes.c.change_id
    if other_than is not None:
        condition = and_(condition, change_customers.c.customer_code.not_in(other_than))
    return exists().where(condition)


def _visible(query: ChangeQuery, *, walk: bool) -> list[ColumnElement[bool]]:
    """Where ``access.policy.visibility`` is FULL: every customer on the change is visible.

    A change naming no customer is visible to ``customerless_by`` alone (``None``: to all).
    """
    mine, creator = query.visible_customers, query.customerless_by
    own = changes.c.created_by == creator if creator is not None else None
    if mine is None:
        return [] if own is None else [or_(_names_customer(), own)]
    return [~_names_customer(other_than=mine), _visible_rows(mine, creator, walk=walk)]


CUSTOMERLESS = "'[]'"
"""``changes.customer_codes`` of a change naming no customer (``ix_changes_customerless``)."""


def _visible_rows(mine: frozenset[str], creator: str | None, *, walk: bool) -> ColumnElement[bool]:
    """The change names one of ``mine``, or none at all (and ``creator``, if given, made it).

    One ``row_id IN (… UNION …)`` rather than an OR of two tests, so that the database can start
    from these few rows; changes naming no customer come from a small partial index.
    """
    bare = changes.alias("customerless")
    customerless = select(bare.c.row_id).where(
        bare.c.customer_codes == literal_column(CUSTOMERLESS)
    )
    if creator is not None:
        customerless = customerless.where(bare.c.created_by == creator)
    mine_rows = select(change_customers.c.row_id).where(change_customers.c.customer_code.in_(mine))
    row_id = changes.c.row_id + literal_column("0") if walk else changes.c.row_id
    return row_id.in_(union(mine_rows, customerless))


def newest(where: list[ColumnElement[bool]], *, offset: int, limit: int) -> AnySelect:
    """Summaries newest first; the offset is applied to ids alone, then the few rows are read."""
    ids = (
        select(changes.c.change_id)
        .where(*where)
        .order_by(*NEWEST_FIRST)
        .limit(limit)
        .offset(offset)
        .correlate(None)
    )
    return select(*SUMMARY_COLUMNS).where(changes.c.change_id.in_(ids)).order_by(*NEWEST_FIRST)


def newest_matches(
    condition: ColumnElement[bool], where: list[ColumnElement[bool]], *, limit: int
) -> AnySelect:
    """The newest ``limit`` rows that satisfy everything, each with the total count of them."""
    hits = (
        select(changes.c.row_id, changes.c.modified_at, changes.c.change_id)
        .where(condition, *where)
        .cte("hits")
        .prefix_with("MATERIALIZED")
    )
    total = select(func.count()).select_from(hits).scalar_subquery()
    return (
        select(hits.c.row_id, total.label("total"))
        .order_by(hits.c.modified_at.desc(), hits.c.change_id.desc())
        .limit(limit)
    )


def statistics_statement(
    *,
    visible_customers: frozenset[str] | None,
    created_by: str | None,
    now: datetime,
    customerless_by: str | None = None,
    include_drafts: bool = True,
) -> AnySelect:
    """Per status: how many changes, and how many of them start within the next 14 days."""
    start = _utc(now)
    upcoming = case(
        (
            and_(
                changes.c.status.in_(UPCOMING_STATUSES),
                changes.c.start_utc >= start,
                changes.c.start_utc < start + UPCOMING_WINDOW,
            ),
            1,
        ),
        else_=0,
    )
    visible = ChangeQuery(
        visible_customers=visible_customers,
        created_by=created_by,
        customerless_by=customerless_by,
        include_drafts=include_drafts,
    )
    where = scope(visible)
    return (
        select(changes.c.status, func.count(), func.sum(upcoming))
        .where(*where)
        .group_by(changes.c.status)
    )

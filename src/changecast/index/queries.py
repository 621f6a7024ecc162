"""The SELECTs shared by find() and statistics(): exact filters, newest-first pages, counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, and_, case, func, literal_column, select

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
    if query.visible_customers is not None:
        clauses.append(_having_customers(query.visible_customers, walk=walk))
    return clauses


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
    *, visible_customers: frozenset[str] | None, created_by: str | None, now: datetime
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
    where = scope(ChangeQuery(visible_customers=visible_customers, created_by=created_by))
    return (
        select(changes.c.status, func.count(), func.sum(upcoming))
        .where(*where)
        .group_by(changes.c.status)
    )

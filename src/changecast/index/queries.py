"""The SELECTs shared by find() and statistics(): exact filters, newest-first pages, counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Select,
    any_,
    func,
    literal_column,
    select,
    union_all,
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


def _having_customers(
    codes: frozenset[str] | set[str], *, walk: bool, drive: bool = False
) -> ColumnElement[bool]:
    rows = select(change_customers.c.row_id).where(change_customers.c.customer_code.in_(codes))
    if drive:
        return _driving(rows)
    row_id = changes.c.row_id + literal_column("0") if walk else changes.c.row_id
    return row_id.in_(rows)


def _driving(rows: Select[int] | CompoundSelect[int]) -> ColumnElement[bool]:
    """``row_id = ANY(ARRAY(rows))``: the rows are read first, then each change by its key.

    For a text search on PostgreSQL: as ``row_id IN (rows)`` the planner, even with fresh
    statistics, hashed a customer's few thousand rows against a scan of every change.
    """
    return changes.c.row_id == any_(func.array(rows.scalar_subquery()))


def scope(
    query: ChangeQuery, *, walk: bool = False, counted: bool = False, drive: bool = False
) -> list[ColumnElement[bool]]:
    """Translate the exact filters of ``query`` (everything but the text) into SQL.

    ``walk``: many rows qualify and the caller wants the newest few (see ``WALK_ABOVE``).
    ``drive``: the customer filters name the rows to start from (see ``_driving``).
    ``counted``: without the rows ``hidden(query)`` names, which the caller counts and subtracts.
    """
    clauses: list[ColumnElement[bool]] = []
    if query.status is not None:
        clauses.append(changes.c.status == query.status.value)
    if query.customer is not None:
        clauses.append(_having_customers({query.customer}, walk=walk, drive=drive))
    if query.created_by is not None:
        clauses.append(changes.c.created_by == query.created_by)
    if query.kind is not None:
        clauses.append(changes.c.kind == query.kind.value)
    if query.starts_from is not None:
        clauses.append(changes.c.start_utc >= _utc(query.starts_from))
    if query.starts_to is not None:
        clauses.append(changes.c.start_utc <= _utc(query.starts_to))
    clauses += _visible(query, walk=walk, counted=counted, drive=drive)
    if not query.include_drafts:
        clauses.append(changes.c.status != ChangeStatus.DRAFT.value)
    return clauses


def _others_customerless(creator: str) -> AnySelect:
    """The ``row_id`` of the changes naming no customer that someone other than ``creator`` made.

    A few rows of the partial index ``ix_changes_customerless``. The all-customers scope is every
    change but these: ``row_id NOT IN (…)`` (a hashed probe per row) for pages, and for counts
    the count of everything minus the count of these (``hidden``), where a correlated ``EXISTS``
    on ``change_customers`` per row took over a second at 100k changes.
    """
    bare = changes.alias("customerless")
    return select(bare.c.row_id).where(
        bare.c.customer_codes == literal_column(CUSTOMERLESS), bare.c.created_by != creator
    )


def hidden(query: ChangeQuery) -> ColumnElement[bool] | None:
    """The rows ``scope(query, counted=True)`` keeps that ``actor`` may not see (None: none).

    Count ``scope(query, counted=True)`` and subtract the count of it ``AND hidden(query)``.
    """
    if query.visible_customers is None and query.customerless_by is not None:
        return changes.c.row_id.in_(_others_customerless(query.customerless_by))
    return None


def _visible(
    query: ChangeQuery, *, walk: bool, counted: bool, drive: bool = False
) -> list[ColumnElement[bool]]:
    """Where ``access.policy.visibility`` is FULL: every customer on the change is visible.

    A change naming no customer is visible to ``customerless_by`` alone (``None``: to all).
    ``counted``: the all-customers scope is left to ``hidden`` (subtracted by the caller).
    """
    mine, creator = query.visible_customers, query.customerless_by
    if mine is None:
        if creator is None or counted:
            return []
        return [changes.c.row_id.not_in(_others_customerless(creator))]
    return [_visible_rows(mine, creator, walk=walk, drive=drive)]


CUSTOMERLESS = "'[]'"
"""``changes.customer_codes`` of a change naming no customer (``ix_changes_customerless``)."""


def _visible_rows(
    mine: frozenset[str], creator: str | None, *, walk: bool, drive: bool = False
) -> ColumnElement[bool]:
    """Every customer the change names is in ``mine``, or it names none (made by ``creator``).

    One ``row_id IN (… UNION ALL …)`` rather than an OR of two tests, so that the database can
    start from these few rows. The first part reads only the entries of ``mine`` in the covering
    index ``ix_change_customers_visible``: a change is fully visible when all of its customers
    are among them (``count(*) = customer_count``). Changes naming no customer come from a small
    partial index.
    """
    bare = changes.alias("customerless")
    customerless = select(bare.c.row_id).where(
        bare.c.customer_codes == literal_column(CUSTOMERLESS)
    )
    if creator is not None:
        customerless = customerless.where(bare.c.created_by == creator)
    named = change_customers.c
    fully_visible = (
        select(named.row_id)
        .where(named.customer_code.in_(mine))
        .group_by(named.row_id)
        .having(func.count() == func.max(named.customer_count))
    )
    rows = union_all(fully_visible, customerless)
    if drive:
        return _driving(rows)
    row_id = changes.c.row_id + literal_column("0") if walk else changes.c.row_id
    return row_id.in_(rows)


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


def statistics_statements(
    *,
    visible_customers: frozenset[str] | None,
    created_by: str | None,
    now: datetime,
    customerless_by: str | None = None,
    include_drafts: bool = True,
) -> list[tuple[int, AnySelect]]:
    """Per status: how many changes, and how many of them start within the next 14 days.

    ``(sign, statement)`` pairs of ``(status, changes, upcoming)`` rows: add each row times its
    sign (``hidden``). The counts scan a covering index; the upcoming ones are a range of
    ``ix_changes_status_start`` (a ``CASE`` per row doubled the scan at 100k changes).
    """
    start = _utc(now)
    visible = ChangeQuery(
        visible_customers=visible_customers,
        created_by=created_by,
        customerless_by=customerless_by,
        include_drafts=include_drafts,
    )
    where = scope(visible, counted=True)
    none: ColumnElement[int] = literal_column("0")
    counted = select(changes.c.status, func.count(), none).where(*where)
    soon = select(changes.c.status, none, func.count()).where(
        *where,
        changes.c.status.in_(UPCOMING_STATUSES),
        changes.c.start_utc >= start,
        changes.c.start_utc < start + UPCOMING_WINDOW,
    )
    statements = [(1, counted.group_by(changes.c.status)), (1, soon.group_by(changes.c.status))]
    not_seen = hidden(visible)
    if not_seen is not None:
        statements += [
            (-1, part.where(not_seen).group_by(changes.c.status)) for part in (counted, soon)
        ]
    return statements

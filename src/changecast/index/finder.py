"""find(): the exact total, then one page, relevance-ranked within a window of newest matches.

Further matches follow newest first, so ranking a very common word never scans the whole index.
"""

from __future__ import annotations

import math

from sqlalchemy import ColumnElement, Connection, func, select

from changecast.changes.models import ChangePage, ChangeQuery, ChangeSummary
from changecast.index import queries
from changecast.index.fulltext import (
    SUMMARY_COLUMNS,
    TextMatch,
    TsQueryMatch,
    candidates,
    text_match,
)
from changecast.index.rows import summary_of
from changecast.index.search import parse_search_text
from changecast.index.tables import changes


def find_page(
    conn: Connection,
    query: ChangeQuery,
    *,
    dialect: str,
    window: int,
    exact_totals: bool = False,
) -> ChangePage:
    """Run ``query`` on ``conn``: one page of summaries and the total.

    A text search on PostgreSQL counts at most ``window`` matches unless ``exact_totals``: past
    that, the total is ``window`` and ``total_is_lower_bound`` is set (see ``_search_newest``).
    SQLite and lists always count exactly.
    """
    terms = parse_search_text(query.text)
    bounded = False
    if terms is None:
        total, items = _list(conn, query)
    elif dialect == "sqlite" or exact_totals:
        total, items = _search(conn, query, text_match(dialect, terms), window=window)
    else:
        match = text_match(dialect, terms)
        total, items, bounded = _search_newest(conn, query, match, window=window)
    return ChangePage(
        items=items,
        total=total,
        page=query.page,
        page_size=query.page_size,
        total_is_lower_bound=bounded,
    )


def _list(conn: Connection, query: ChangeQuery) -> tuple[int, list[ChangeSummary]]:
    total = _count(conn, query)
    offset = (query.page - 1) * query.page_size
    if offset >= total:
        return total, []
    walk = queries.scope(query, walk=total > queries.WALK_ABOVE)
    newest = queries.newest(walk, offset=offset, limit=query.page_size)
    return total, [summary_of(row) for row in conn.execute(newest)]


def _count(conn: Connection, query: ChangeQuery) -> int:
    """The rows ``query`` selects: those of its scope, less the ones hidden from the actor."""
    where = queries.scope(query, counted=True)
    total = conn.execute(select(func.count()).select_from(changes).where(*where))
    counted: int = total.scalar_one()
    not_seen = queries.hidden(query)
    if not_seen is not None:
        counted -= conn.execute(
            select(func.count()).select_from(changes).where(*where, not_seen)
        ).scalar_one()
    return counted


def _search(
    conn: Connection, query: ChangeQuery, match: TextMatch, *, window: int
) -> tuple[int, list[ChangeSummary]]:
    """Count and rank. With filters, the newest matches come with the total (see ``_filtered``)."""
    where = queries.scope(query)
    match.prepare(conn)
    newest: list[int] | None = None
    if where:
        total, newest = _filtered(conn, match, where, window=window)
    else:
        total = match.count(conn, where)
    offset, size = (query.page - 1) * query.page_size, query.page_size
    ranked = min(window, total)
    items: list[ChangeSummary] = []
    if offset < ranked:
        many = newest is None and ranked < total  # else the few matches are read as a set
        scored = match.scored_candidates(ranked, total) if many else None
        if scored is not None:
            order = _by_score([(row[0], row[1]) for row in conn.execute(scored)])
        else:
            if newest is None:
                limit = None if ranked == total else ranked
                newest = list(conn.execute(candidates(match, where, limit=limit)).scalars())
            order = _by_relevance(conn, match, newest)
        items += _summaries(conn, order[offset : offset + size])
    start = max(offset, ranked)
    if start < min(offset + size, total):
        rest = [match.condition(), *where]
        older = queries.newest(rest, offset=start, limit=offset + size - start)
        items += [summary_of(row) for row in conn.execute(older)]
    return total, items


def _search_newest(
    conn: Connection, query: ChangeQuery, match: TextMatch, *, window: int
) -> tuple[int, list[ChangeSummary], bool]:
    """PostgreSQL: the newest ``window + 1`` matches only, no count of every match.

    Counting every match of a common word reads most of ``change_search``; the rank window
    needs only the newest ``window``. One more tells whether there are more: then the total
    is ``window``, a lower bound (the third value), and later pages follow newest first.
    Filters: the customers' rows drive (``queries.scope(drive=True)``); no filter: a sample of
    the newest changes tells how dense the matches are (walk the recency index, or read them).
    """
    where = queries.scope(query, drive=True)
    match.prepare(conn)
    scored: list[tuple[int, float | None]] | None = None
    if query.status is not None and isinstance(match, TsQueryMatch) and _status_only(query):
        of_status = match.status_newest(conn, query.status.value, window + 1)
        newest = list(conn.execute(of_status).scalars())
    elif where:
        newest = list(conn.execute(candidates(match, where, limit=window + 1)).scalars())
    else:
        statement = match.scored_candidates(window + 1, match.sampled_total(conn, 0))
        assert statement is not None  # PostgreSQL scores while it reads
        scored = [(row[0], row[1]) for row in conn.execute(statement)]
        newest = [row_id for row_id, _ in scored]
    bounded = len(newest) > window
    total = min(len(newest), window)
    offset, size = (query.page - 1) * query.page_size, query.page_size
    items: list[ChangeSummary] = []
    if offset < total:
        if scored is not None:
            order = _by_score(scored[:total])
        else:
            order = _by_relevance(conn, match, newest[:total])
        items += _summaries(conn, order[offset : offset + size])
    start = max(offset, total)
    if bounded and start < offset + size:
        rest = [match.condition(), *where]
        older = queries.newest(rest, offset=start, limit=offset + size - start)
        items += [summary_of(row) for row in conn.execute(older)]
    return total, items, bounded


def _status_only(query: ChangeQuery) -> bool:
    """The query filters by status and nothing else (``change_search`` has the status, 0011)."""
    others = (
        query.customer,
        query.created_by,
        query.kind,
        query.starts_from,
        query.starts_to,
        query.visible_customers,
        query.customerless_by,
    )
    return query.include_drafts and all(value is None for value in others)


def _filtered(
    conn: Connection, match: TextMatch, where: list[ColumnElement[bool]], *, window: int
) -> tuple[int, list[int]]:
    """The total of the filtered matches and the newest ``window`` of them.

    PostgreSQL: one statement (the matches materialised once, counted and sorted). SQLite: the
    newest ``window`` by a walk of an index newest first (no sort of every match), and a count
    only when there are more: sorting the materialised matches cost more than counting again.
    """
    if conn.dialect.name == "sqlite":
        newest = list(conn.execute(candidates(match, where, limit=window)).scalars())
        return (len(newest) if len(newest) < window else match.count(conn, where)), newest
    rows = conn.execute(queries.newest_matches(match.condition(), where, limit=window)).all()
    return (rows[0].total if rows else 0), [row.row_id for row in rows]


def _by_relevance(conn: Connection, match: TextMatch, newest: list[int]) -> list[int]:
    """Re-order ``newest`` by score; the sort is stable, so equal scores stay newest first."""
    scores: dict[int, float] = {row[0]: row[1] for row in conn.execute(match.scores(newest))}
    return sorted(newest, key=lambda row_id: scores.get(row_id, math.inf))


def _by_score(newest: list[tuple[int, float | None]]) -> list[int]:
    """Order newest-first ``(row_id, score)`` by score (``None`` last), stably."""
    ranked = sorted(newest, key=lambda row: math.inf if row[1] is None else row[1])
    return [row_id for row_id, _ in ranked]


def _summaries(conn: Connection, row_ids: list[int]) -> list[ChangeSummary]:
    """Summaries of ``row_ids``, in that order."""
    statement = select(changes.c.row_id, *SUMMARY_COLUMNS).where(changes.c.row_id.in_(row_ids))
    found = {row.row_id: summary_of(row) for row in conn.execute(statement)}
    return [found[row_id] for row_id in row_ids if row_id in found]

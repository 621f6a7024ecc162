"""find(): the exact total, then one page, relevance-ranked within a window of newest matches.

Further matches follow newest first, so ranking a very common word never scans the whole index.
"""

from __future__ import annotations

import math

from sqlalchemy import Connection, func, select

from changecast.changes.models import ChangePage, ChangeQuery, ChangeSummary
from changecast.index import queries
from changecast.index.fulltext import SUMMARY_COLUMNS, TextMatch, candidates, text_match
from changecast.index.rows import summary_of
from changecast.index.search import parse_search_text
from changecast.index.tables import changes


def find_page(conn: Connection, query: ChangeQuery, *, dialect: str, window: int) -> ChangePage:
    """Run ``query`` on ``conn``: one page of summaries and the exact total."""
    terms = parse_search_text(query.text)
    if terms is None:
        total, items = _list(conn, query)
    else:
        total, items = _search(conn, query, text_match(dialect, terms), window=window)
    return ChangePage(items=items, total=total, page=query.page, page_size=query.page_size)


def _list(conn: Connection, query: ChangeQuery) -> tuple[int, list[ChangeSummary]]:
    where = queries.scope(query)
    total = conn.execute(select(func.count()).select_from(changes).where(*where)).scalar_one()
    offset = (query.page - 1) * query.page_size
    if offset >= total:
        return total, []
    walk = queries.scope(query, walk=total > queries.WALK_ABOVE)
    newest = queries.newest(walk, offset=offset, limit=query.page_size)
    return total, [summary_of(row) for row in conn.execute(newest)]


def _search(
    conn: Connection, query: ChangeQuery, match: TextMatch, *, window: int
) -> tuple[int, list[ChangeSummary]]:
    """Count and rank. With filters, one statement gives both the total and the newest matches."""
    where = queries.scope(query)
    match.prepare(conn)
    newest: list[int] | None = None
    if where:
        rows = conn.execute(queries.newest_matches(match.condition(), where, limit=window)).all()
        total, newest = (rows[0].total if rows else 0), [row.row_id for row in rows]
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

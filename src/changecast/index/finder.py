"""find(): the exact total, then the page: relevance-ranked within the window, newest first after.

A text search ranks the newest ``window`` matches by relevance (then newest); ranking every match
of a very common word would cost time in proportion to the whole index. Matches beyond the window
follow newest first, so pages stay stable and the total stays exact.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Connection, func, select

from changecast.changes.models import ChangePage, ChangeQuery, ChangeSummary
from changecast.index import queries
from changecast.index.fulltext import AnySelect, TextMatch, candidates, text_match
from changecast.index.rows import summary_of
from changecast.index.search import parse_search_text
from changecast.index.tables import changes


def find_page(conn: Connection, query: ChangeQuery, *, dialect: str, window: int) -> ChangePage:
    """Run ``query`` on ``conn``: one page of summaries and the exact total."""
    where = queries.scope(query)
    offset, size = (query.page - 1) * query.page_size, query.page_size
    terms = parse_search_text(query.text)
    match = None if terms is None else text_match(dialect, terms)
    if match is None:
        total = conn.execute(select(func.count()).select_from(changes).where(*where)).scalar_one()
        statements = [queries.newest(where, offset=offset, limit=size)]
    else:
        match.prepare(conn)
        total = match.count(conn, where)
        statements = []
        if offset < total:
            statements = _search_statements(
                conn, match, where, offset=offset, size=size, ranked=min(window, total)
            )
    items = [] if offset >= total else _summaries(conn, statements)
    return ChangePage(items=items, total=total, page=query.page, page_size=size)


def _search_statements(
    conn: Connection,
    match: TextMatch,
    where: list[ColumnElement[bool]],
    *,
    offset: int,
    size: int,
    ranked: int,
) -> list[AnySelect]:
    """Page ``[offset, offset + size)``: the first ``ranked`` matches by relevance, then newest."""
    statements: list[AnySelect] = []
    if offset < ranked:
        ids = list(conn.execute(candidates(match, where, limit=ranked)).scalars())
        statements.append(match.ranked(ids).limit(min(size, ranked - offset)).offset(offset))
    start = max(offset, ranked)
    if offset + size > start:
        rest = [match.condition(), *where]
        statements.append(queries.newest(rest, offset=start, limit=offset + size - start))
    return statements


def _summaries(conn: Connection, statements: list[AnySelect]) -> list[ChangeSummary]:
    return [summary_of(row) for statement in statements for row in conn.execute(statement)]

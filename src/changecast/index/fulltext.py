"""Full-text matching, counting and relevance ordering, one class per database.

SQLite matches through the FTS5 table ``change_fts`` (bm25, title weighted highest); PostgreSQL
through ``changes.search_vector`` (ts_rank; title weight A, ids and names B, plans C).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, TypeAlias

from sqlalchemy import (
    ColumnElement,
    Connection,
    Float,
    Integer,
    Select,
    Text,
    bindparam,
    column,
    func,
    literal,
    literal_column,
    select,
    table,
)

from changecast.index.search import SearchTerms
from changecast.index.tables import changes

AnySelect: TypeAlias = Select[*tuple[Any, ...]]

SUMMARY_COLUMNS = (
    changes.c.change_id,
    changes.c.version,
    changes.c.status,
    changes.c.title,
    changes.c.customer_codes,
    changes.c.created_by,
    changes.c.modified_by,
    changes.c.created_at,
    changes.c.modified_at,
    changes.c.start_utc,
    changes.c.end_utc,
    changes.c.timezone,
)
NEWEST_FIRST = (changes.c.modified_at.desc(), changes.c.change_id.desc())

FTS_DRIVES_BELOW = 5_000
"""With at most this many text matches, the match set drives the query."""

_fts = table("change_fts", column("rowid", Integer), column("rank", Float))
_SIMPLE: ColumnElement[Any] = literal_column("'simple'::regconfig")


class TextMatch(Protocol):
    """What find() needs from a database's full-text search."""

    def prepare(self, conn: Connection) -> None:
        """Look at the matches once before querying (to choose a plan)."""
        ...

    def condition(self) -> ColumnElement[bool]:
        """A WHERE clause on ``changes`` that keeps the matching rows."""
        ...

    def count(self, conn: Connection, where: list[ColumnElement[bool]]) -> int:
        """Count the rows that match and satisfy ``where``."""
        ...

    def ranked(self, row_ids: Sequence[int]) -> AnySelect:
        """Summaries of these (matching) rows, most relevant first, then newest."""
        ...


def candidates(match: TextMatch, where: list[ColumnElement[bool]], *, limit: int) -> Select[int]:
    """The row ids of the newest ``limit`` matches: the ones ranked by relevance."""
    return (
        select(changes.c.row_id)
        .where(match.condition(), *where)
        .order_by(*NEWEST_FIRST)
        .limit(limit)
    )


class Fts5Match:
    """SQLite FTS5: ``change_fts MATCH '"word" "prefix"*'``, ordered by the bm25 ``rank``.

    FTS5 is fast at listing every match and slow at checking one row id, so the matches are
    always read as a set: the plan only chooses whether that set drives the query (few matches)
    or is probed while SQLite walks an index of ``changes`` newest first (many matches).
    """

    def __init__(self, terms: SearchTerms) -> None:
        self.expression = terms.fts5()
        self.text_total = 0

    def _match(self) -> ColumnElement[bool]:
        return literal_column("change_fts").match(self.expression)

    def prepare(self, conn: Connection) -> None:
        counting = select(func.count()).select_from(_fts).where(self._match())
        self.text_total = conn.execute(counting).scalar_one()

    def condition(self) -> ColumnElement[bool]:
        rowids = select(_fts.c.rowid).where(self._match()).correlate(None)
        if self.text_total <= FTS_DRIVES_BELOW:
            return changes.c.row_id.in_(rowids)
        return (changes.c.row_id + 0).in_(rowids)  # "+ 0": probe the set, do not drive by it

    def count(self, conn: Connection, where: list[ColumnElement[bool]]) -> int:
        if not where:
            return self.text_total
        counting = select(func.count()).select_from(changes).where(self.condition(), *where)
        return conn.execute(counting).scalar_one()

    def ranked(self, row_ids: Sequence[int]) -> AnySelect:
        joined = _fts.join(changes, changes.c.row_id == _fts.c.rowid)
        return (
            select(*SUMMARY_COLUMNS)
            .select_from(joined)
            .where(self._match(), (_fts.c.rowid + 0).in_(row_ids))
            .order_by(_fts.c.rank, *NEWEST_FIRST)
        )


class TsQueryMatch:
    """PostgreSQL: ``search_vector @@ to_tsquery('simple', 'word & prefix:*')``, by ts_rank."""

    def __init__(self, terms: SearchTerms) -> None:
        self.query = func.to_tsquery(_SIMPLE, literal(terms.tsquery(), Text))

    def prepare(self, conn: Connection) -> None:
        del conn  # the planner's statistics on the GIN index are enough

    def condition(self) -> ColumnElement[bool]:
        return changes.c.search_vector.bool_op("@@")(self.query)

    def count(self, conn: Connection, where: list[ColumnElement[bool]]) -> int:
        counting = select(func.count()).select_from(changes).where(self.condition(), *where)
        return conn.execute(counting).scalar_one()

    def ranked(self, row_ids: Sequence[int]) -> AnySelect:
        relevance = func.ts_rank(changes.c.search_vector, self.query)
        return (
            select(*SUMMARY_COLUMNS)
            .where(changes.c.row_id.in_(row_ids))
            .order_by(relevance.desc(), *NEWEST_FIRST)
        )


def text_match(dialect: str, terms: SearchTerms) -> TextMatch:
    """Choose the full-text implementation of ``dialect`` (``sqlite`` or ``postgresql``)."""
    return Fts5Match(terms) if dialect == "sqlite" else TsQueryMatch(terms)


def search_vector(
    title: ColumnElement[str], keywords: ColumnElement[str], body: ColumnElement[str]
) -> ColumnElement[Any]:
    """Build PostgreSQL's weighted tsvector from the three normalised texts of a document."""
    parts = [
        func.setweight(func.to_tsvector(_SIMPLE, text), literal_column(f"'{weight}'"))
        for text, weight in ((title, "A"), (keywords, "B"), (body, "C"))
    ]
    return parts[0].op("||")(parts[1]).op("||")(parts[2])


SEARCH_TEXT_PARAMS = (
    bindparam("search_title", type_=Text),
    bindparam("search_keywords", type_=Text),
    bindparam("search_body", type_=Text),
)

"""Full-text matching, counting and scoring: FTS5 (bm25) on SQLite, tsvector on PostgreSQL.

Scores use the exact words (title weighted highest); prefix-only matches rank after exact ones.
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
    any_,
    bindparam,
    case,
    column,
    func,
    literal,
    literal_column,
    select,
    table,
)
from sqlalchemy.dialects.postgresql import ARRAY

from changecast.index.search import SearchTerms
from changecast.index.tables import change_search, changes

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
    changes.c.kind,
    changes.c.announcement_kind,
)
NEWEST_FIRST = (changes.c.modified_at.desc(), changes.c.change_id.desc())
SEARCH_NEWEST_FIRST = (change_search.c.modified_at.desc(), change_search.c.change_id.desc())
"""The same order from ``change_search``'s copies (0011: ``ix_change_search_newest``)."""
FTS_DRIVES_BELOW = 5_000
"""With at most this many text matches, SQLite lets the match set drive the query."""

WALK_PROBES = 10_000
"""PostgreSQL: walk the recency index for the newest matches only when it meets enough of them
within this many changes (each probe reads a tsvector); otherwise read the matches as a set."""

DENSITY_SAMPLE = 300
"""PostgreSQL: the matches among this many newest changes tell how dense the matches are, when
they are not counted (see ``TsQueryMatch.sampled_total``)."""

_fts = table("change_fts", column("rowid", Integer), column("rank", Float))
_SIMPLE: ColumnElement[Any] = literal_column("'simple'::regconfig")
_ZERO: ColumnElement[int] = literal_column("0", Integer)  # "x + 0": not an index lookup


class TextMatch(Protocol):
    """What find() needs from a database's full-text search."""

    def prepare(self, conn: Connection) -> None:
        """Look at the matches once before querying (to choose a plan)."""
        ...

    def condition(self, *, few: bool = False) -> ColumnElement[bool]:
        """A WHERE clause on ``changes`` that keeps the matching rows.

        ``few``: the caller knows that there are at most a rank window of them.
        """
        ...

    def count(self, conn: Connection, where: list[ColumnElement[bool]]) -> int:
        """Count the rows that match and satisfy ``where``."""
        ...

    def sampled_total(self, conn: Connection, total: int) -> int:
        """An estimate of how many changes match, at least ``total`` (a known lower bound)."""
        ...

    def scores(self, row_ids: Sequence[int]) -> Select[int, float]:
        """``(row_id, score)`` of those rows that contain every word exactly; lower is better."""
        ...

    def scored_candidates(self, limit: int, total: int) -> AnySelect | None:
        """``(row_id, score or NULL)`` of the newest ``limit`` of ``total`` unfiltered matches.

        ``None`` when the database scores faster in a second statement (``scores``).
        """
        ...


class Fts5Match:
    """SQLite FTS5: ``change_fts MATCH '"word" "prefix"*'``; relevance is the bm25 ``rank``.

    FTS5 lists every match quickly but checks a single row id slowly, so the matches are always
    read as a set: either that set drives the query (few matches), or SQLite starts from the
    other filters or walks an index of ``changes`` newest first, and probes the set (``+ 0``
    stops it from driving by row id).
    """

    def __init__(self, terms: SearchTerms) -> None:
        self.terms = terms
        self.text_total = 0

    def _match(self, *, prefix: bool = True) -> ColumnElement[bool]:
        return literal_column("change_fts").match(self.terms.fts5(prefix=prefix))

    def prepare(self, conn: Connection) -> None:
        counting = select(func.count()).select_from(_fts).where(self._match())
        self.text_total = conn.execute(counting).scalar_one()

    def condition(self, *, few: bool = False) -> ColumnElement[bool]:
        del few  # prepare() counted the matches already
        rowids = select(_fts.c.rowid).where(self._match()).correlate(None)
        if self.text_total > FTS_DRIVES_BELOW:
            return (changes.c.row_id + _ZERO).in_(rowids)
        return changes.c.row_id.in_(rowids)

    def count(self, conn: Connection, where: list[ColumnElement[bool]]) -> int:
        if not where:
            return self.text_total
        counting = select(func.count()).select_from(changes).where(self.condition(), *where)
        return conn.execute(counting).scalar_one()

    def sampled_total(self, conn: Connection, total: int) -> int:
        del conn
        return max(total, self.text_total)

    def scores(self, row_ids: Sequence[int]) -> Select[int, float]:
        return select(_fts.c.rowid, _fts.c.rank).where(
            self._match(prefix=False), (_fts.c.rowid + _ZERO).in_(row_ids)
        )

    def scored_candidates(self, limit: int, total: int) -> AnySelect | None:
        del limit, total  # reading bm25 for a set of row ids is cheap once the matches are known
        return None


class TsQueryMatch:
    """PostgreSQL: ``search_vector @@ to_tsquery('simple', 'word & prefix:*')``; by ts_rank."""

    def __init__(self, terms: SearchTerms) -> None:
        self.query = func.to_tsquery(_SIMPLE, literal(terms.tsquery(), Text))
        self.exact = func.to_tsquery(_SIMPLE, literal(terms.tsquery(prefix=False), Text))
        self.rows = 0

    def prepare(self, conn: Connection) -> None:
        """Note how many changes there are at most (the newest row id: one index lookup)."""
        self.rows = conn.execute(select(func.max(changes.c.row_id))).scalar() or 0

    def _matches(self) -> AnySelect:
        vector = change_search.c.search_vector
        return select(change_search.c.row_id).where(vector.bool_op("@@")(self.query))

    def condition(self, *, few: bool = False) -> ColumnElement[bool]:
        """``row_id IN (matches)``; for a few matches ``row_id = ANY(ARRAY(matches))``.

        The array is read first from the GIN index, then each change by its key: without
        statistics (an index grown by upserts, not yet analysed) the planner would otherwise hash
        the matches against a scan of every change.
        """
        if few:
            return changes.c.row_id == any_(func.array(self._matches().scalar_subquery()))
        return changes.c.row_id.in_(self._matches())

    def count(self, conn: Connection, where: list[ColumnElement[bool]]) -> int:
        if not where:
            counting = select(func.count()).select_from(self._matches().subquery())
        else:
            counting = select(func.count()).select_from(changes).where(self.condition(), *where)
        return conn.execute(counting).scalar_one()

    def sampled_total(self, conn: Connection, total: int) -> int:
        """An estimate of how many changes match (at least ``total``).

        The share of matches among the newest ``DENSITY_SAMPLE`` changes, times every change:
        enough to choose between a walk of the recency index and reading the matches as a set.
        """
        vector = change_search.c.search_vector
        recent = select(vector).order_by(*SEARCH_NEWEST_FIRST).limit(DENSITY_SAMPLE).subquery()
        sampled = (
            select(func.count())
            .select_from(recent)
            .where(func.ts_match_vq(recent.c.search_vector, self.query))  # per row, no GIN
        )
        hits: int = conn.execute(sampled).scalar_one()
        return max(total, hits * self.rows // DENSITY_SAMPLE)

    def status_newest(self, conn: Connection, status: str, limit: int) -> Select[int]:
        """The newest ``limit`` matches of one status, from ``change_search`` alone (0011).

        The share of matches among the newest ``DENSITY_SAMPLE`` changes of that status says
        whether a walk of ``ix_change_search_status_newest`` meets ``limit`` of them within
        ``WALK_PROBES`` rows; otherwise the GIN matches of that status are sorted.
        """
        vector = change_search.c.search_vector
        of_status = change_search.c.status == status
        recent = (
            select(vector)
            .where(of_status)
            .order_by(*SEARCH_NEWEST_FIRST)
            .limit(DENSITY_SAMPLE)
            .subquery()
        )
        sampled = select(func.count()).select_from(recent)
        hits: int = conn.execute(
            sampled.where(func.ts_match_vq(recent.c.search_vector, self.query))
        ).scalar_one()
        walk = hits > 0 and limit * DENSITY_SAMPLE / hits <= WALK_PROBES
        matching = (
            func.ts_match_vq(vector, self.query) if walk else vector.bool_op("@@")(self.query)
        )
        return (
            select(change_search.c.row_id)
            .where(of_status, matching)
            .order_by(*SEARCH_NEWEST_FIRST)
            .limit(limit)
        )

    def scores(self, row_ids: Sequence[int]) -> Select[int, float]:
        vector = change_search.c.search_vector
        exact = func.coalesce(vector.bool_op("@@")(self.exact), False)  # checked per row, no GIN
        ids = bindparam("row_ids", list(row_ids), type_=ARRAY(Integer))  # one array parameter
        return select(change_search.c.row_id, -func.ts_rank(vector, self.exact)).where(
            change_search.c.row_id == any_(ids), exact
        )

    def scored_candidates(self, limit: int, total: int) -> AnySelect | None:
        """The newest ``limit`` matches, each ranked while its tsvector is at hand.

        All in ``change_search``, which keeps each change's recency (0011). Dense matches (a
        walk of ``ix_change_search_newest`` meets ``limit`` of them within ``WALK_PROBES`` rows)
        are found by that walk, the tsvector checked per row (``ts_match_vq``: the function, not
        the operator, so that the planner cannot turn it into a GIN scan and a sort of every
        match); for sparse ones the planner chooses (0011 analyses ``change_search``): the GIN
        index and a sort of the matches, or, where they are dense enough, the same walk. (Read
        first as an array, 10k matches cost more than either.)
        """
        vector = change_search.c.search_vector
        score = case((vector.bool_op("@@")(self.exact), -func.ts_rank(vector, self.exact)))
        walk = limit * self.rows / max(total, 1) <= WALK_PROBES
        matching = (
            func.ts_match_vq(vector, self.query) if walk else vector.bool_op("@@")(self.query)
        )
        return (
            select(change_search.c.row_id, score)
            .where(matching)
            .order_by(*SEARCH_NEWEST_FIRST)
            .limit(limit)
        )


def text_match(dialect: str, terms: SearchTerms) -> TextMatch:
    """Choose the full-text implementation of ``dialect`` (``sqlite`` or ``postgresql``)."""
    return Fts5Match(terms) if dialect == "sqlite" else TsQueryMatch(terms)


def candidates(
    match: TextMatch, where: list[ColumnElement[bool]], *, limit: int | None
) -> Select[int]:
    """The rows to rank, newest first: the newest ``limit`` matches, or all when ``limit`` is None.

    Without a limit the database may start from the smallest filter and sort the few rows.
    """
    condition = match.condition(few=limit is None)
    statement = select(changes.c.row_id).where(condition, *where).order_by(*NEWEST_FIRST)
    return statement if limit is None else statement.limit(limit)

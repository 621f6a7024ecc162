"""Turn free text into normalised words, and words into safe full-text queries (FTS5, tsquery).

Indexed text and user text are normalised alike; no query syntax can reach the search engine.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

MAX_TERMS = 16
MAX_TERM_LENGTH = 64
_WORD = re.compile(r"[^\W_]+")


def normalize(text: str) -> str:
    """Fold case and strip accents, so ``Café`` and ``cafe`` are the same word."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return bare.casefold()


def words(text: str) -> list[str]:
    """Split ``text`` into normalised runs of letters and digits; all else separates words."""
    return _WORD.findall(normalize(text))


def index_text(parts: Iterable[str | None]) -> str:
    """Build the text stored for indexing: the words of every part, joined by spaces."""
    return " ".join(word for part in parts if part for word in words(part))


@dataclass(frozen=True)
class SearchTerms:
    """What the user searched for: every word must match; the last one may be a prefix."""

    terms: tuple[str, ...]

    def fts5(self, *, prefix: bool = True) -> str:
        """Render an FTS5 MATCH expression: quoted terms (implicit AND), the last a prefix."""
        quoted = [f'"{term}"' for term in self.terms]
        return " ".join(quoted) + ("*" if prefix else "")

    def tsquery(self, *, prefix: bool = True) -> str:
        """Render a ``to_tsquery('simple', ...)`` input: ``&``-joined terms, the last a prefix."""
        return " & ".join(self.terms) + (":*" if prefix else "")


def parse_search_text(text: str | None) -> SearchTerms | None:
    """Parse a user's search text into terms; ``None`` when there is nothing to search for.

    Only letters and digits survive (quotes, ``*``, ``-``, ``NEAR(``, ``:`` and the like are
    separators), so the result is always a valid query in both engines.
    """
    if not text:
        return None
    terms = tuple(word[:MAX_TERM_LENGTH] for word in words(text)[:MAX_TERMS])
    return SearchTerms(terms) if terms else None

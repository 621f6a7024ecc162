"""User search text becomes a safe full-text query: properties of the sanitizer, checked on FTS5."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from changecast.index.search import (
    MAX_TERMS,
    SearchTerms,
    index_text,
    normalize,
    parse_search_text,
    words,
)

_FTS5_SAFE = re.compile(r'^("[^\W_]+" )*"[^\W_]+"\*$')
_TSQUERY_SAFE = re.compile(r"^([^\W_]+ & )*[^\W_]+:\*$")
nasty = st.text(
    alphabet=st.one_of(st.characters(), st.sampled_from("\"*-:^()&|!<>'NEAR{}+ \\\x00")),
    max_size=200,
)


@pytest.fixture(scope="module")
def fts() -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(":memory:")
    connection.execute(
        "CREATE VIRTUAL TABLE docs USING fts5(body, tokenize='unicode61 remove_diacritics 2', "
        "prefix='2 3')"
    )
    connection.execute("INSERT INTO docs(body) VALUES (?)", [index_text(["Café NEAR firewall"])])
    yield connection
    connection.close()


@given(nasty)
def test_any_text_parses_to_nothing_or_safe_queries(text: str) -> None:
    terms = parse_search_text(text)
    if terms is None:
        assert words(text) == []
        return
    assert 1 <= len(terms.terms) <= MAX_TERMS
    assert _FTS5_SAFE.match(terms.fts5())
    assert _TSQUERY_SAFE.match(terms.tsquery())


@given(nasty)
def test_any_text_is_a_valid_fts5_match_expression(fts: sqlite3.Connection, text: str) -> None:
    terms = parse_search_text(text)
    if terms is not None:
        fts.execute("SELECT count(*) FROM docs WHERE docs MATCH ?", [terms.fts5()]).fetchone()


@given(st.lists(st.from_regex(r"[a-z0-9]{1,12}", fullmatch=True), min_size=1, max_size=10))
def test_plain_words_survive_in_order(plain: list[str]) -> None:
    terms = parse_search_text("  ".join(plain))
    assert terms == SearchTerms(tuple(plain))


@pytest.mark.parametrize("text", [None, "", "   ", "***", '"" -- ()', "\u200b\t\n", "_ _"])
def test_text_without_letters_or_digits_means_no_text_filter(text: str | None) -> None:
    assert parse_search_text(text) is None


@pytest.mark.parametrize(
    ("text", "fts5", "tsquery"),
    [
        ("firewall", '"firewall"*', "firewall:*"),
        ('NEAR("a" b)', '"near" "a" "b"*', "near & a & b:*"),
        ("OPS-1234 rollback*", '"ops" "1234" "rollback"*', "ops & 1234 & rollback:*"),
        ("'; DROP TABLE x; --", '"drop" "table" "x"*', "drop & table & x:*"),
        ("Café Zürich", '"cafe" "zurich"*', "cafe & zurich:*"),
        ("title:foo & bar:*", '"title" "foo" "bar"*', "title & foo & bar:*"),
    ],
)
def test_examples(text: str, fts5: str, tsquery: str) -> None:
    terms = parse_search_text(text)
    assert terms is not None
    assert (terms.fts5(), terms.tsquery()) == (fts5, tsquery)


def test_only_the_first_terms_are_kept() -> None:
    terms = parse_search_text(" ".join(f"w{n}" for n in range(40)))
    assert terms is not None
    assert terms.terms == tuple(f"w{n}" for n in range(MAX_TERMS))


def test_indexed_text_and_queries_normalise_alike(fts: sqlite3.Connection) -> None:
    assert normalize("ÉCOLE ﬁre") == "ecole fire"
    assert index_text(["a-b", None, "", "C.D"]) == "a b c d"
    for text in ("cafe", "CAFÉ", "near", "fire"):
        terms = parse_search_text(text)
        assert terms is not None
        found = fts.execute("SELECT count(*) FROM docs WHERE docs MATCH ?", [terms.fts5()])
        assert found.fetchone() == (1,), text

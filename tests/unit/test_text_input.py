"""The one input rule for free text (``changecast.text_input``)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from changecast.errors import InvalidInputError
from changecast.text_input import (
    BIDI_CONTROLS,
    checked,
    lines,
    one_line,
    storable,
    storable_json,
    storable_value,
)

REFUSED_EVERYWHERE = [
    ("a\x00b", "U+0000 (NUL)"),
    ("a\x1b[31mb", "U+001B (ESC)"),
    ("a\x7fb", "U+007F (DEL)"),
    ("a\x85b", "U+0085"),
    ("a\u2028b", "U+2028 (LINE SEPARATOR)"),
    ("a\u2029b", "U+2029 (PARAGRAPH SEPARATOR)"),
    ("a\u202eb", "U+202E (RIGHT-TO-LEFT OVERRIDE)"),
    ("a\u202ab", "U+202A (LEFT-TO-RIGHT EMBEDDING)"),
    ("a\u2066b", "U+2066 (LEFT-TO-RIGHT ISOLATE)"),
    ("a\u2069b", "U+2069 (POP DIRECTIONAL ISOLATE)"),
    ("a\u200fb", "U+200F (RIGHT-TO-LEFT MARK)"),
    ("a\u061cb", "U+061C (ARABIC LETTER MARK)"),
    ("a\ud800b", "U+D800 (surrogate)"),
    ("a\x08b", "U+0008 (control character)"),
]


@pytest.mark.parametrize(("value", "named"), REFUSED_EVERYWHERE)
def test_controls_bidi_and_separators_are_refused_in_both_kinds_with_the_character_named(
    value: str, named: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(named)):
        one_line(value)
    with pytest.raises(ValueError, match=re.escape(named)):
        lines(value)


@pytest.mark.parametrize("value", ["a\nb", "a\r\nb", "a\rb", "a\tb"])
def test_a_one_line_field_refuses_line_breaks_and_tabs(value: str) -> None:
    with pytest.raises(ValueError, match="must be one line without control characters"):
        one_line(value)


def test_a_multi_line_field_keeps_lf_and_tab_reads_crlf_as_lf_and_refuses_a_lone_cr() -> None:
    assert lines("1.\tswap\r\n2.\tcheck\n") == "1.\tswap\n2.\tcheck\n"
    with pytest.raises(ValueError, match=r"U\+000D \(carriage return\)"):
        lines("forged\rApprove for acme: https://evil.test")


def test_ordinary_text_in_any_script_passes_unchanged() -> None:
    for text in ("Rotate TLS — «naïve» 東京 🚀", "مرحبا", "שלום", "a\u200db"):  # ZWJ is fine
        assert one_line(text) == text
        assert lines(text) == text


def test_checked_names_the_field_for_pages_and_the_cli() -> None:
    with pytest.raises(InvalidInputError) as refused:
        checked("ok\r\nx", field="comment")
    assert refused.value.details[0].field == "comment"
    assert str(refused.value).startswith("comment must be one line")
    assert checked("ok\r\nx", field="comment", multi_line=True) == "ok\nx"


@given(st.text(max_size=60))
def test_whatever_one_line_accepts_has_no_control_bidi_or_line_break(value: str) -> None:
    try:
        kept = one_line(value)
    except ValueError:
        return
    assert not any(c in BIDI_CONTROLS or c in "\r\n\x00\x1b" or ord(c) < 0x20 for c in kept)


def test_storable_removes_only_what_postgresql_text_cannot_hold() -> None:
    assert storable("a\x00b\ud800c\x1bd") == "abc\x1bd"
    assert storable("plain") == "plain"
    value = {"k\x00": ["x\x00", ("y", 3)], "n": None}
    assert storable_value(value) == {"k": ["x", ("y", 3)], "n": None}
    assert "\\u0000" not in storable_json({"comment": "a\x00b"})

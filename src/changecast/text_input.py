"""The one input rule for every free-text field a person types (forms, API bodies, CLI options).

A **one-line** field (a title, an override reason, a token name, a survey or sign-off comment)
refuses every control character, line breaks included. A **multi-line** field (a plan, a
history comment) keeps LF and TAB only: CRLF is read as LF, a lone CR is refused. Both refuse
NUL and the other C0/C1 controls (ESC among them), lone surrogates, the Unicode line and
paragraph separators, and the bidirectional controls that can make text read differently from
what it is (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F, U+061C).

``one_line`` and ``lines`` raise ``ValueError`` (pydantic's ``AfterValidator`` turns it into a
422 naming the field); ``checked`` raises ``InvalidInputError`` naming the field, for pages,
the CLI and the domain. ``storable`` is the index writer's last defence: it removes what
PostgreSQL cannot store in text (NUL, lone surrogates) from documents written by other tools.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

from changecast.errors import FieldProblem, InvalidInputError

BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
"""Arabic letter mark, LRM/RLM, the embeddings and overrides (LRE..RLO), the isolates."""
LINE_SEPARATORS = frozenset("\u0085\u2028\u2029")
"""NEL, LINE SEPARATOR, PARAGRAPH SEPARATOR: line breaks that are not LF."""
_NAMES = {
    "\x00": "NUL",
    "\t": "TAB",
    "\n": "line feed",
    "\r": "carriage return",
    "\x1b": "ESC",
    "\x7f": "DEL",
}


def describe(char: str) -> str:
    """``U+001B (ESC)``: how an error names a refused character."""
    name = _NAMES.get(char)
    if name is None:
        try:
            name = unicodedata.name(char)
        except ValueError:
            name = "control character" if unicodedata.category(char) == "Cc" else "surrogate"
    return f"U+{ord(char):04X} ({name})"


def refused_char(value: str, *, allowed: str = "") -> str | None:
    """The first character of ``value`` the rule refuses (``allowed`` excepted), or None."""
    for char in value:
        if char in allowed:
            continue
        if (
            unicodedata.category(char) in {"Cc", "Cs"}
            or char in BIDI_CONTROLS
            or char in LINE_SEPARATORS
        ):
            return char
    return None


def one_line(value: str) -> str:
    """``value`` when it is one line without control characters; else ``ValueError``."""
    found = refused_char(value)
    if found is not None:
        kind = "a line break" if found in "\r\n" or found in LINE_SEPARATORS else "a control"
        raise ValueError(
            f"must be one line without control characters: found {kind} character {describe(found)}"
        )
    return value


def lines(value: str) -> str:
    """``value`` with CRLF read as LF, when it holds no control characters but LF and TAB."""
    value = value.replace("\r\n", "\n")
    found = refused_char(value, allowed="\n\t")
    if found is not None:
        raise ValueError(
            f"must not contain control characters other than line feed and TAB: found "
            f"{describe(found)}"
        )
    return value


def checked(value: str, *, field: str, multi_line: bool = False) -> str:
    """``one_line`` or ``lines`` of ``value``, raising ``InvalidInputError`` naming ``field``."""
    try:
        return lines(value) if multi_line else one_line(value)
    except ValueError as exc:
        raise InvalidInputError(
            f"{field} {exc}", details=[FieldProblem(field, str(exc))], field=field
        ) from None


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(value: str) -> str:
    """``value`` without what PostgreSQL's text cannot hold (NUL, lone surrogates)."""
    if _UNSTORABLE.search(value) is None:
        return value
    return _UNSTORABLE.sub("", value)


def storable_value(value: Any) -> Any:
    """``value`` with every string (keys too) ``storable``: no NUL, no lone surrogate."""
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, dict):
        return {storable_value(k): storable_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(storable_value(v) for v in value)
    return value


def storable_json(value: Any) -> str:
    """JSON of ``storable_value(value)``: PostgreSQL's jsonb refuses NUL, even as an escape."""
    return json.dumps(storable_value(value))

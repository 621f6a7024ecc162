"""Announcement bodies: Markdown rendered safely to HTML and to plain text.

markdown-it-py's CommonMark with raw HTML off (``<script>`` comes out as text), no images (no
``data:`` URLs, no tracking pixels) and a link allow-list: only ``http``, ``https`` and ``mailto``
links become links; any other scheme (``javascript:``, ``vbscript:``, ``data:``, …) stays text.
"""

from __future__ import annotations

from markdown_it import MarkdownIt
from markdown_it.token import Token
from markupsafe import Markup

ALLOWED_SCHEMES = ("http://", "https://", "mailto:")


def _safe_link(url: str) -> bool:
    return url.strip().lower().startswith(ALLOWED_SCHEMES)


def _parser() -> MarkdownIt:
    parser = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    parser.disable(["image", "html_block", "html_inline"])
    parser.validateLink = _safe_link  # type: ignore[method-assign]
    return parser


_PARSER = _parser()


def markdown_html(source: str) -> Markup:
    """Safe HTML for ``source`` (marked safe so autoescaping templates keep it as is)."""
    return Markup(_PARSER.render(source))


def markdown_text(source: str) -> str:
    """Plain text for ``source``: markup dropped, each link followed by its URL."""
    lines: list[str] = []
    prefix = ""
    for token in _PARSER.parse(source):
        if token.type == "bullet_list_open":
            prefix = "- "
        elif token.type == "ordered_list_open":
            prefix = "* "
        elif token.type in {"bullet_list_close", "ordered_list_close"}:
            prefix = ""
        elif token.type == "inline":
            lines.append(prefix + _inline_text(token.children or []))
        elif token.type in {"fence", "code_block"}:
            lines.append(token.content.rstrip("\n"))
        elif token.type in {"paragraph_close", "heading_close"} and not prefix:
            lines.append("")
    return "\n".join(lines).strip() + "\n" if lines else ""


def _inline_text(children: list[Token]) -> str:
    parts: list[str] = []
    href: str | None = None
    for child in children:
        if child.type in {"text", "code_inline"}:
            parts.append(child.content)
        elif child.type in {"softbreak", "hardbreak"}:
            parts.append("\n")
        elif child.type == "link_open":
            href = str(child.attrGet("href") or "")
        elif child.type == "link_close" and href:
            parts.append(f" ({href})")
            href = None
    return "".join(parts)

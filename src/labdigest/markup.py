"""The one Markdown renderer, and the escaping that makes a digest's literal text survive
it. Raw HTML is off: bodies start as untrusted digest text."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from markdown_it import MarkdownIt

# Every ASCII punctuation character may be backslash-escaped in CommonMark; these are the
# ones that can start markup inside a line. '&' would start an entity such as '&lt;'.
_INLINE_SPECIAL = re.compile(r"([\\`*_\[\]<>&!~|{}])")
# Without fuzzy links, linkify-it only finds URLs with a scheme, 'www.' or 'mailto:'.
_MAY_HOLD_URL = re.compile(r"//|www\.|mailto:", re.IGNORECASE)
# Characters that mean something only at the start of a line.
_LINE_START_SPECIAL = re.compile(r"^([#>+=\-]|\d{1,9}(?=[.)]))")


@cache
def renderer() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": True, "typographer": False})
    md.enable("linkify")
    # Only URLs that carry a scheme (or www.) become links: a fuzzy match would turn
    # "model.py" or "e.g.ai" in an abstract into links to nowhere.
    _linkify(md).set({"fuzzy_link": False, "fuzzy_email": False})
    return md


def _linkify(md: MarkdownIt) -> Any:
    assert md.linkify is not None  # linkify-it-py is a dependency
    return md.linkify


@cache
def _renderer_without_linkify() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False, "typographer": False})


def render(markdown: str) -> str:
    # The linkify rule tests every text token with slow regexes; a body that cannot hold
    # a URL renders the same without it, several times faster.
    md = renderer() if _MAY_HOLD_URL.search(markdown) else _renderer_without_linkify()
    return str(md.render(markdown))


def escape_text(text: str) -> str:
    """Markdown source that renders as exactly `text` (one paragraph per blank-line
    separated block), except that bare URLs still become links."""
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", text)]
    return "\n\n".join(_escape_paragraph(p) for p in paragraphs if p)


def _escape_paragraph(paragraph: str) -> str:
    pieces: list[str] = []
    position = 0
    for start, end in _url_spans(paragraph):
        pieces.append(_escape_inline(paragraph[position:start]))
        pieces.append(paragraph[start:end])  # left whole so the linkifier still sees it
        position = end
    pieces.append(_escape_inline(paragraph[position:]))
    escaped = "".join(pieces)
    # A leading '1.' or '-' would make a list, '#' a heading, '>' a quote.
    return _LINE_START_SPECIAL.sub(_escape_line_start, escaped, count=1)


def _escape_line_start(match: re.Match[str]) -> str:
    token = match.group(1)
    if token[0].isdigit():
        return token  # the '.' or ')' after the digits is escaped below
    return "\\" + token


def _escape_inline(text: str) -> str:
    escaped = _INLINE_SPECIAL.sub(r"\\\1", text)
    # '1. ' or '1) ' at the very start of a paragraph would open an ordered list.
    return re.sub(r"^(\d{1,9})([.)])", r"\1\\\2", escaped)


def _url_spans(text: str) -> list[tuple[int, int]]:
    if not _MAY_HOLD_URL.search(text):  # linkify-it is slow; most abstracts have no URL
        return []
    matches = _linkify(renderer()).match(text) or []
    return [(m.index, m.last_index) for m in matches]

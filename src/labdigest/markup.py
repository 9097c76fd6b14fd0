"""The one Markdown renderer, and the escaping that makes a digest's literal text survive
it. Raw HTML is off: bodies start as untrusted digest text."""

from __future__ import annotations

import html
import re
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

# Every ASCII punctuation character may be backslash-escaped in CommonMark; these are the
# ones that can start markup inside a line. '&' would start an entity such as '&lt;'.
_INLINE_SPECIAL = re.compile(r"([\\`*_\[\]<>&!~|{}$])")
# $…$ as the math rule reads it: no space just inside, no digit just after.
_MATH_RE = re.compile(r"(?<![\\$])\$(?=\S)[^$]*?(?<=\S)\$(?![\d$])")
# Characters that mean something only at the start of a line.
_LINE_START_SPECIAL = re.compile(r"^([#>+=\-]|\d{1,9}(?=[.)]))")


@cache
def _renderer(linkify: bool, math: bool) -> MarkdownIt:
    # Imported here: most abstracts are plain prose and never need them (a tenth of a
    # second of every build's start-up).
    from markdown_it import MarkdownIt
    from mdit_py_plugins.dollarmath import dollarmath_plugin

    md = MarkdownIt("commonmark", {"html": False, "linkify": linkify, "typographer": False})
    if linkify:
        md.enable("linkify")
        # Only URLs that carry a scheme (or www.) become links: a fuzzy match would turn
        # "model.py" or "e.g.ai" in an abstract into links to nowhere.
        _linkify(md).set(_LINKIFY_OPTIONS)
    if math:
        # "$5 and $10" is money, not math: no space inside the dollars, no digit after.
        dollarmath_plugin(
            md, allow_space=False, allow_digits=False, double_inline=True, renderer=_math_to_mathml
        )
    return md


def renderer() -> MarkdownIt:
    return _renderer(linkify=True, math=True)


_LINKIFY_OPTIONS = {"fuzzy_link": False, "fuzzy_email": False}


def _linkify(md: MarkdownIt) -> Any:
    assert md.linkify is not None  # linkify-it-py is a dependency
    return md.linkify


@cache
def _links() -> Any:
    """linkify-it as the renderers' linkify rule has it (markdown-it makes a LinkifyIt()
    with no options; _renderer sets these), for finding links without a renderer: ingest
    escapes 10,000 abstracts in its workers, and each imported markdown-it for it (a
    tenth of a second) where linkify-it alone takes a hundredth."""
    from linkify_it import LinkifyIt

    return LinkifyIt().set(_LINKIFY_OPTIONS)


def _math_to_mathml(content: str, options: dict[str, Any]) -> str:
    """TeX → MathML at build time; what latex2mathml cannot convert shows as the literal
    TeX it was, so a formula never breaks a page."""
    import latex2mathml.converter

    display = "block" if options.get("display_mode") else "inline"
    try:
        return str(latex2mathml.converter.convert(content, display=display))
    except Exception:
        delimiter = "$$" if display == "block" else "$"
        return f'<code class="tex">{html.escape(delimiter + content + delimiter)}</code>'


# Plain prose: no character that can start inline markup, an entity or a formula, nothing
# the linkifier would take for a URL, no control character the parser would normalize...
_NOT_PLAIN_CHARACTER = re.compile(r"[\\`*_\[\]<>&!~|{}$\x00-\x09\x0b-\x1f\x7f]")
# ...and no line that could open a block (heading, quote, list, rule, setext underline,
# indented code) or end in a hard break.
_BLOCK_START = re.compile(r"[#>+=\-]|\d{1,9}[.)]|\s")


def _is_plain(text: str) -> bool:
    if _NOT_PLAIN_CHARACTER.search(text) or "\n\n\n" in text or _may_hold_url(text):
        return False
    lines = text.split("\n")
    if not lines[0] or not lines[-1]:  # a blank first or last line
        return False
    return not any(line and (_BLOCK_START.match(line) or line[-1].isspace()) for line in lines)


# A backslash before ASCII punctuation makes it a literal character (escape_text writes them).
_BACKSLASH_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


def render_plain(markdown: str) -> str | None:
    """What markdown-it makes of plain prose, without running it (a tenth of the time);
    None when the text holds anything that could be markup. Tested against markdown-it."""
    has_escapes = "\\" in markdown
    if not _is_plain(_BACKSLASH_ESCAPE.sub("a", markdown) if has_escapes else markdown):
        return None
    if has_escapes:
        markdown = _BACKSLASH_ESCAPE.sub(r"\1", markdown)
    return "".join(f"<p>{p}</p>\n" for p in _escape_html(markdown).split("\n\n") if p)


def _escape_html(text: str) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace('"', "&quot;")


# "http://" or "https://" where markdown-it's inline linkify rule looks for a link: the
# scheme starts the text or follows a character that cannot be part of a scheme.
_WEB_SCHEME = re.compile(r"(?<![a-z0-9.+-])https?(?=://)", re.IGNORECASE)


def render_linked(markdown: str) -> str | None:
    """What markdown-it makes of plain prose with http(s) links in it, without running it
    (a fifth of the time: linkify-it's regexes run once per link, not once per token);
    None when the text holds anything else that could be markup or a link. Tested
    against markdown-it."""
    found = None if "$" in markdown else _web_links(markdown, _WEB_SCHEME)
    if not found:
        return None
    md = _renderer(linkify=True, math=False)
    spans: list[tuple[int, int]] = []
    elements = []
    for start, link in found:
        href = md.normalizeLink(link.url)
        if link.url.endswith("*") or not md.validateLink(href):
            return None
        text = md.normalizeLinkText(link.url)
        elements.append(f'<a href="{_escape_html(href)}">{_escape_html(text)}</a>')
        spans.append((start, start + len(link.url)))
    prose = _between(markdown, spans)
    # The links stand in as a word while the prose around them is checked.
    if not _is_plain(_BACKSLASH_ESCAPE.sub("a", "a".join(prose))):
        return None
    prose = [_escape_html(_BACKSLASH_ESCAPE.sub(r"\1", text)) for text in prose]
    parts = [prose[0]]
    for element, text in zip(elements, prose[1:], strict=True):
        parts += [element, text]
    return "".join(f"<p>{p}</p>\n" for p in "".join(parts).split("\n\n") if p)


def _web_links(text: str, scheme_re: re.Pattern[str]) -> list[tuple[int, Any]] | None:
    """Each http(s) link that linkify-it finds at a `scheme_re` match, with where it
    starts; None when the text may hold another kind of link (www., mailto:) or a scheme
    where linkify-it finds none (left to the slow path)."""
    lower = text.lower()
    if "www." in lower or "mailto:" in lower:
        return None
    linkify = _links()
    found: list[tuple[int, Any]] = []
    for scheme in scheme_re.finditer(text):
        if found and scheme.start() < found[-1][0] + len(found[-1][1].url):
            return None  # a scheme inside a link
        link = linkify.match_at_start(text[scheme.start() :])
        if link is None or not link.url.startswith(scheme.group()):
            return None
        found.append((scheme.start(), link))
    return found


def _between(text: str, spans: list[tuple[int, int]]) -> list[str]:
    """The pieces of text before, between and after the (ordered) spans."""
    edges = [0, *(edge for span in spans for edge in span), len(text)]
    return [text[edges[i] : edges[i + 1]] for i in range(0, len(edges), 2)]


def _may_hold_url(text: str) -> bool:
    """Whether linkify-it could find a URL here: without fuzzy links it only finds URLs
    with a scheme, 'www.' or 'mailto:'. Plain `in` tests: a case-insensitive regex
    alternation scans ten times slower."""
    if "//" in text:
        return True
    lower = text.lower()
    return "www." in lower or "mailto:" in lower


def render(markdown: str) -> str:
    plain = render_plain(markdown)
    if plain is None and _may_hold_url(markdown):
        plain = render_linked(markdown)
    if plain is not None:
        return plain
    # The linkify rule tests every text token with slow regexes, and the math rule scans
    # for dollars: a body that cannot hold a URL or a formula renders the same without.
    md = _renderer(
        linkify=_may_hold_url(markdown),
        math="$" in markdown.replace("\\$", ""),
    )
    return str(md.render(markdown))


def escape_text(text: str, keep_math: bool = False) -> str:
    """Markdown source that renders as exactly `text` (one paragraph per blank-line
    separated block), except that bare URLs still become links and, with keep_math,
    $…$ TeX renders as MathML."""
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", text)]
    return "\n\n".join(_escape_paragraph(p, keep_math) for p in paragraphs if p)


def _escape_paragraph(paragraph: str, keep_math: bool) -> str:
    pieces: list[str] = []
    position = 0
    spans = _url_spans(paragraph) + (_math_spans(paragraph) if keep_math else [])
    for start, end in _disjoint(spans):
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


def _math_spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in _MATH_RE.finditer(text)]


def _disjoint(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spans in order, dropping any that overlaps one before it."""
    kept: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if not kept or start >= kept[-1][1]:
            kept.append((start, end))
    return kept


def _url_spans(text: str) -> list[tuple[int, int]]:
    if not _may_hold_url(text):  # linkify-it is slow; most abstracts have no URL
        return []
    web = _web_link_spans(text)
    if web is not None:
        return web
    matches = _links().match(text) or []
    return [(m.index, m.last_index) for m in matches]


# "http://" or "https://" after a space, a line break, an opening bracket or a quote,
# where linkify-it's scan finds a link too (it refuses one after a letter or "_").
_SPACED_WEB_SCHEME = re.compile(r"(?<![^ \n(\[\"'])https?(?=://)", re.IGNORECASE)


def _web_link_spans(text: str) -> list[tuple[int, int]] | None:
    """Where linkify-it finds links in text whose only links are http(s) ones, asking it
    once per link rather than scanning the whole text (about five times faster); None
    for any other text. Tested against linkify-it's own scan."""
    found = _web_links(text, _SPACED_WEB_SCHEME)
    if found is None:
        return None
    spans = [(start, start + link.last_index) for start, link in found]
    return None if any("//" in piece for piece in _between(text, spans)) else spans

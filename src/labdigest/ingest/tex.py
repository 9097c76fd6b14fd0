"""TeX in arXiv metadata → the characters it stands for: accents (\\'{e} → é), special
letters (\\o → ø) and escapes (\\% → %), outside $…$ math, which stays TeX for the build
to render as MathML. Anything else (unknown macros, braces) is kept as written: a
general LaTeX-to-text converter drops unknown macros and treats a bare % as a comment,
losing words of the abstract."""

from __future__ import annotations

import re
import unicodedata

from labdigest.ingest.base import Entry

_ACCENTS = {
    "'": "\u0301",
    "`": "\u0300",
    "^": "\u0302",
    '"': "\u0308",
    "~": "\u0303",
    "=": "\u0304",
    ".": "\u0307",
    "u": "\u0306",
    "v": "\u030c",
    "H": "\u030b",
    "c": "\u0327",
    "k": "\u0328",
    "r": "\u030a",
    "d": "\u0323",
    "b": "\u0331",
}
_LETTERS = {
    "ss": "ß",
    "o": "ø",
    "O": "Ø",
    "ae": "æ",
    "AE": "Æ",
    "oe": "œ",
    "OE": "Œ",
    "aa": "å",
    "AA": "Å",
    "l": "ł",
    "L": "Ł",
    "i": "\u0131",  # dotless i
    "j": "\u0237",  # dotless j
}
_ESCAPES = {"%": "%", "&": "&", "_": "_", "#": "#", "$": "$", "{": "{", "}": "}"}

# \'{e}, \'e, \' e, \"{\i}; letter-named accents need braces or a space: \c{c}, \c c
_SYMBOL_ACCENT_RE = re.compile(
    r"""\\(['`^"~=.])\s*(?:\{\s*(\\[ij]|[A-Za-z])\s*\}|(\\[ij]|[A-Za-z]))"""
)
_LETTER_ACCENT_RE = re.compile(r"\\([ukvHcrdb])(?:\s*\{\s*(\\[ij]|[A-Za-z])\s*\}|\s+([A-Za-z]))")
_LETTER_RE = re.compile(r"\\(ss|ae|AE|oe|OE|aa|AA|[oOlLij])(?![A-Za-z])\s?")
_ESCAPE_RE = re.compile(r"\\([%&_#${}])")
_BRACED_SINGLE_RE = re.compile(r"\{(\w)\}")  # {é} left around a converted accent
_MATH_RE = re.compile(r"(?<!\\)\$[^$]+?(?<!\\)\$")


def tex_entry(
    title: str,
    abstract: str,
    line: int,
    authors: tuple[str, ...] = (),
    arxiv: str | None = None,
    links: list[tuple[str, str]] | tuple[tuple[str, str], ...] = (),
    extra: list[tuple[str, object]] | tuple[tuple[str, object], ...] = (),
) -> Entry:
    """An Entry from arXiv metadata, whose title and abstract are TeX."""
    return Entry(
        title=tex_to_unicode(title),
        abstract=tex_to_unicode(abstract),
        line=line,
        authors=authors,
        arxiv=arxiv,
        links=tuple(links),
        extra=tuple(extra),
    )


def tex_to_unicode(text: str) -> str:
    pieces: list[str] = []
    position = 0
    for match in _MATH_RE.finditer(text):
        pieces.append(_convert(text[position : match.start()]))
        pieces.append(match.group(0))
        position = match.end()
    pieces.append(_convert(text[position:]))
    return unicodedata.normalize("NFC", "".join(pieces))


def _accent(match: re.Match[str]) -> str:
    letter = match.group(2) or match.group(3)
    # \"{\i} is TeX for ï: the dotless i only exists so that the accent has room.
    base = letter[1:] if letter in ("\\i", "\\j") else letter
    return base + _ACCENTS[match.group(1)]


def _convert(text: str) -> str:
    if "\\" not in text:
        return text
    text = _SYMBOL_ACCENT_RE.sub(_accent, text)
    text = _LETTER_ACCENT_RE.sub(_accent, text)
    text = _LETTER_RE.sub(lambda m: _LETTERS[m.group(1)], text)
    text = _ESCAPE_RE.sub(lambda m: _ESCAPES[m.group(1)], text)
    text = unicodedata.normalize("NFC", text)
    return _BRACED_SINGLE_RE.sub(
        lambda m: m.group(1) if not m.group(1).isascii() else m.group(0), text
    )

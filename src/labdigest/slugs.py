"""Slugs and identity keys. A slug becomes a file name under content/papers/ and a folder
under public/papers/, so it is only ever lowercase ASCII letters, digits and single
hyphens: never '/', '\\', '..' or an empty name."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Container

MAX_SLUG_LENGTH = 80
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# Names that are special on some file systems or in this site's own URL space.
RESERVED = frozenset(
    {"con", "prn", "aux", "nul", "index", "assets", "pagefind", "search", "topics", "digests"}
    | {f"com{i}" for i in range(10)}
    | {f"lpt{i}" for i in range(10)}
)


def ascii_words(text: str) -> list[str]:
    """'Über-fast 3D Pose!' → ['uber', 'fast', '3d', 'pose']"""
    if not text.isascii():  # (most titles and names are: nothing to fold)
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return _ASCII_WORD.findall(text.lower())


_ASCII_WORD = re.compile(r"[a-z0-9]+")


def slugify(text: str, fallback: str = "paper") -> str:
    """Lowercase ASCII words joined by '-', at most MAX_SLUG_LENGTH characters, cut at a
    word boundary (a single over-long word is cut inside)."""
    slug = ""
    for word in ascii_words(text):
        candidate = f"{slug}-{word}" if slug else word
        if len(candidate) > MAX_SLUG_LENGTH:
            if not slug:
                slug = word[:MAX_SLUG_LENGTH]
            break
        slug = candidate
    if not slug or slug in RESERVED:
        slug = f"{slug}-{fallback}" if slug else fallback
    return slug


def unique_slug(base: str, taken: Container[str], start: int = 2) -> str:
    """base, else base-2, base-3, …: deterministic for the same order of arrival. (A
    caller that knows base-2 … base-(start-1) are taken may start further on.)"""
    if base not in taken:
        return base
    number = start
    while True:
        suffix = f"-{number}"
        stem = base[: MAX_SLUG_LENGTH - len(suffix)].rstrip("-")
        candidate = stem + suffix
        if candidate not in taken:
            return candidate
        number += 1


def is_safe_slug(slug: str) -> bool:
    return len(slug) <= MAX_SLUG_LENGTH + 8 and bool(SLUG_RE.match(slug))


@functools.lru_cache(maxsize=1 << 16)  # an ingest asks for each new title three times
def normalize_title(title: str) -> str:
    """The identity of a paper with no arXiv id: case, accents, punctuation and spacing
    do not make two papers different."""
    return " ".join(ascii_words(title)) or title.strip().casefold()


ARXIV_NEW_RE = re.compile(r"^(\d{4}\.\d{4,5})(v\d+)?$")
ARXIV_OLD_RE = re.compile(r"^([a-z-]+(?:\.[A-Z]{2})?/\d{7})(v\d+)?$")


def arxiv_base_id(raw: str) -> str | None:
    """'2401.12345v2' → '2401.12345'; 'hep-th/9901001v1' → 'hep-th/9901001'; else None."""
    raw = raw.strip()
    for pattern in (ARXIV_NEW_RE, ARXIV_OLD_RE):
        if match := pattern.match(raw):
            return match.group(1)
    return None


def identity_key(arxiv: str | None, title: str, doi: str | None = None) -> str:
    """A paper's identity: its version-less arXiv id, else its DOI (bioRxiv, medRxiv),
    else its normalized title."""
    if arxiv:
        return f"arxiv:{arxiv}"
    if doi:
        return f"doi:{doi.lower()}"
    return f"title:{normalize_title(title)}"

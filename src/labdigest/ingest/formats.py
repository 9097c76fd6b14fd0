"""Digest formats and their detection from the content (the file name only breaks ties)."""

from __future__ import annotations

import enum
from collections.abc import Callable

from labdigest.ingest import arxiv_atom, arxiv_email, arxiv_rss, biorxiv, hf_json, html_page, text
from labdigest.ingest.base import ReadResult

Reader = Callable[[str, str], ReadResult]


class Format(enum.Enum):
    TEXT = "text"
    ARXIV_EMAIL = "arxiv-email"
    HF_JSON = "hf-json"
    ARXIV_ATOM = "arxiv-atom"
    ARXIV_RSS = "arxiv-rss"
    BIORXIV = "biorxiv"
    HTML = "html"


READERS: dict[Format, Reader] = {
    Format.TEXT: text.read,
    Format.ARXIV_EMAIL: arxiv_email.read,
    Format.HF_JSON: hf_json.read,
    Format.ARXIV_ATOM: arxiv_atom.read,
    Format.ARXIV_RSS: arxiv_rss.read,
    Format.BIORXIV: biorxiv.read,
    Format.HTML: html_page.read,
}

# Most specific first; plain text is what is left.
DETECTORS: tuple[tuple[Format, Callable[[str], bool]], ...] = (
    (Format.HF_JSON, hf_json.looks_like),
    (Format.BIORXIV, biorxiv.looks_like),
    (Format.ARXIV_RSS, arxiv_rss.looks_like),
    (Format.ARXIV_ATOM, arxiv_atom.looks_like),
    (Format.HTML, html_page.looks_like),
    (Format.ARXIV_EMAIL, arxiv_email.looks_like),
)

CHOICES = ("auto", *(f.value for f in Format))


def detect(content: str, name: str) -> Format:
    for fmt, looks_like in DETECTORS:
        if looks_like(content):
            return fmt
    if name.lower().endswith(".json") and content.lstrip().startswith(("[", "{")):
        return Format.HF_JSON
    return Format.TEXT


def choose(requested: str, content: str, name: str) -> Format:
    if requested == "auto":
        return detect(content, name)
    return Format(requested)

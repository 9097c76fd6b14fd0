"""The arXiv API's Atom feed (export.arxiv.org/api/query), read with feedparser."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from labdigest.errors import IngestError
from labdigest.ingest.base import Entry, ReadResult, read_each
from labdigest.ingest.tex import tex_entry, tex_to_unicode
from labdigest.slugs import arxiv_base_id

ABS_RE = re.compile(r"arxiv\.org/abs/(.+?)/?$")


def looks_like(text: str) -> bool:
    start = text.lstrip()[:3000]
    return "<feed" in start and "arxiv" in start.lower()


def read(text: str, path: str) -> ReadResult:
    import feedparser  # here: every ingest loads this module, few read Atom (0.05 s)

    feed = feedparser.parse(text)
    if feed.bozo and not feed.entries:
        raise IngestError(f"not a readable Atom feed: {feed.bozo_exception}", path)
    entries = list(feed.entries)
    if len(entries) == 1 and entries[0].get("title", "").strip() == "Error":
        raise IngestError(
            f"the arXiv API answered with an error: {_text(entries[0].get('summary'))}", path
        )
    if not entries:
        raise IngestError("the feed has no entries (the query matched nothing)", path)
    return read_each(entries, _entry, "entry", path, start=1)


def _text(value: Any) -> str:
    return " ".join(str(value or "").split())


def _entry(raw: Any, index: int) -> tuple[Entry, dt.date]:
    match = ABS_RE.search(raw.get("id", ""))
    arxiv = arxiv_base_id(match.group(1)) if match else None
    if arxiv is None:
        raise ValueError(f"id {raw.get('id')!r} is not an arXiv abstract URL")
    title, abstract = _text(raw.get("title")), _text(raw.get("summary"))
    if not title or not abstract:
        raise ValueError("no title or no summary")
    links = [("pdf", link["href"]) for link in raw.get("links", []) if link.get("title") == "pdf"]
    extra: list[tuple[str, object]] = []
    if primary := raw.get("arxiv_primary_category", {}).get("term"):
        extra.append(("primary_category", primary))
    if terms := [t["term"] for t in raw.get("tags", []) if t.get("term")]:
        extra.append(("categories", " ".join(terms)))
    for key, field in (
        ("comments", "arxiv_comment"),
        ("journal_ref", "arxiv_journal_ref"),
        ("doi", "arxiv_doi"),
    ):
        if value := _text(raw.get(field)):
            extra.append((key, tex_to_unicode(value)))
    published = _text(raw.get("published"))[:10]
    updated = _text(raw.get("updated"))[:10] or published
    if published:
        extra.append(("published", published))
    if updated and updated != published:
        extra.append(("updated", updated))
    authors = tuple(_text(a.get("name")) for a in raw.get("authors", []) if _text(a.get("name")))
    return (
        tex_entry(title, abstract, index, authors, arxiv, links, extra),
        dt.date.fromisoformat(updated) if updated else dt.date.min,
    )

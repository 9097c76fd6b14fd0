"""arXiv's category feeds (rss.arxiv.org/rss/CATS and rss.arxiv.org/atom/CATS, also
combined: cs.LG+stat.ML), read with feedparser. Each item: its id in the guid
(oai:arXiv.org:ID with its version), the title, the authors (dc:creator, or Atom's
authors), the categories, arxiv:announce_type (new, cross, replace, replace-cross), the
abstract after "Abstract:" in the description, arxiv:DOI and arxiv:journal_reference.
Cross-lists and replacements are read as the e-mail reader reads its sections: a paper
already known gains the digest, a new one is marked with how it was listed."""

from __future__ import annotations

import datetime as dt
import email.utils
import re
from typing import Any

from labdigest.errors import IngestError
from labdigest.ingest.arxiv_email import split_authors
from labdigest.ingest.base import DateHint, Entry, ReadResult
from labdigest.ingest.tex import tex_to_unicode
from labdigest.slugs import arxiv_base_id

ID_RE = re.compile(r"(?:oai:arXiv\.org:|arxiv\.org/abs/)(\S+?)/?$", re.I)
VERSION_RE = re.compile(r"v(\d+)$")
ABSTRACT_RE = re.compile(r"Abstract:\s*(.*)\Z", re.S)
LISTINGS = {"cross": "cross-listing", "replace": "replaced", "replace-cross": "replaced"}


def looks_like(text: str) -> bool:
    start = text.lstrip()[:4000]
    return ("<rss" in start or "<feed" in start) and "rss.arxiv.org" in start


def read(text: str, path: str) -> ReadResult:
    import feedparser  # here: every ingest loads this module, few read feeds

    feed = feedparser.parse(text)
    if feed.bozo and not feed.entries and not feed.feed:
        raise IngestError(f"not a readable feed: {feed.bozo_exception}", path)
    result = ReadResult()
    result.date = _feed_date(feed.feed)
    if not feed.entries:
        raise IngestError(
            "no papers in this feed (arXiv announces none on weekends and holidays)", path
        )
    for index, raw in enumerate(feed.entries, start=1):
        try:
            result.entries.append(_entry(raw, index))
        except ValueError as error:
            result.problems.append(IngestError(f"item {index}: skipped, {error}", path))
    return result


def _text(value: Any) -> str:
    return " ".join(str(value or "").split())


def _entry(raw: Any, index: int) -> Entry:
    match = ID_RE.search(_text(raw.get("id")) or _text(raw.get("link")))
    arxiv = arxiv_base_id(match.group(1)) if match else None
    if arxiv is None:
        raise ValueError(f"no arXiv id in {raw.get('id')!r}")
    title = _text(raw.get("title"))
    found = ABSTRACT_RE.search(str(raw.get("summary") or ""))
    abstract = _text(found.group(1)) if found else ""
    if not title or not abstract:
        raise ValueError(f"arXiv:{arxiv} has no title or no abstract")
    extra: list[tuple[str, object]] = []
    if version := VERSION_RE.search(match.group(1) if match else ""):
        extra.append(("version", int(version.group(1))))
    if terms := [t["term"] for t in raw.get("tags", []) if t.get("term")]:
        extra.append(("categories", " ".join(terms)))
    for key, field in (("doi", "arxiv_doi"), ("journal_ref", "arxiv_journal_reference")):
        if value := _text(raw.get(field)):
            extra.append((key, tex_to_unicode(value)))
    listing = LISTINGS.get(_text(raw.get("arxiv_announce_type")))
    if listing:
        extra.append(("listing", listing))
    return Entry(
        title=tex_to_unicode(title),
        abstract=tex_to_unicode(abstract),
        line=index,
        authors=_authors(raw),
        arxiv=arxiv,
        extra=tuple(extra),
    )


def _authors(raw: Any) -> tuple[str, ...]:
    """RSS gives one dc:creator of every name, comma-separated; Atom an author each."""
    names = [_text(a.get("name")) for a in raw.get("authors", []) if _text(a.get("name"))]
    if len(names) == 1 and "," in names[0]:
        return split_authors(tex_to_unicode(names[0]))
    return tuple(tex_to_unicode(name) for name in names)


def _feed_date(channel: Any) -> DateHint | None:
    """The announcement date: RSS's pubDate, Atom's updated (the date as arXiv wrote it,
    in its own time zone)."""
    for field in ("published", "updated"):
        value = _text(channel.get(field))
        if not value:
            continue
        try:
            moment = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            try:
                moment = dt.datetime.fromisoformat(value)
            except ValueError:
                continue
        return DateHint.from_date(moment.date())
    return None

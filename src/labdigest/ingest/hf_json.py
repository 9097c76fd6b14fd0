"""The Hugging Face daily-papers JSON (the `daily_papers` API): a list of items, each with
a `paper` object. Problems are reported by item index, since JSON has no useful lines."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from labdigest.errors import IngestError
from labdigest.ingest.base import Entry, ReadResult, read_each
from labdigest.ingest.tex import tex_entry
from labdigest.slugs import arxiv_base_id


def looks_like(text: str) -> bool:
    start = text.lstrip()[:2000]
    return start.startswith("[") and '"paper"' in start


def read(text: str, path: str) -> ReadResult:
    try:
        items = json.loads(text)
    except json.JSONDecodeError as error:
        raise IngestError(f"invalid JSON: {error.msg}", path, error.lineno) from None
    if isinstance(items, dict) and "error" in items:
        raise IngestError(f"the API answered with an error: {items['error']}", path)
    if not isinstance(items, list):
        raise IngestError("expected a JSON list of daily-papers items", path, 1)
    return read_each(items, _entry, "item", path)


def _entry(item: Any, index: int) -> tuple[Entry, dt.date | None]:
    paper = item["paper"]
    arxiv = arxiv_base_id(str(paper["id"]))
    if arxiv is None:
        raise ValueError(f"paper.id {paper['id']!r} is not an arXiv id")
    title = " ".join(str(paper.get("title") or item.get("title") or "").split())
    abstract = " ".join(str(paper.get("summary") or "").split())
    if not title:
        raise ValueError("no title")
    if not abstract:
        raise ValueError("no summary")
    authors = tuple(
        " ".join(str(a["name"]).split())
        for a in paper.get("authors", [])
        if isinstance(a, dict) and a.get("name") and not a.get("hidden")
    )
    links = []
    if repo := paper.get("githubRepo"):
        links.append(("code", str(repo)))
    if page := paper.get("projectPage"):
        links.append(("project", str(page)))
    extra: list[tuple[str, object]] = []
    if paper.get("withdrawnAt"):
        extra.append(("withdrawn", str(paper["withdrawnAt"])[:10]))
    for key, source in (("upvotes", paper), ("comments_count", item)):
        field = "upvotes" if key == "upvotes" else "numComments"
        if isinstance(source.get(field), int):  # missing stays missing, never 0
            extra.append((key, source[field]))
    if summary := paper.get("ai_summary"):
        extra.append(("ai_summary", " ".join(str(summary).split())))
    if keywords := paper.get("ai_keywords"):
        extra.append(("ai_keywords", [str(k) for k in keywords]))
    if published_text := paper.get("publishedAt"):
        extra.append(("published", str(published_text)[:10]))
    published = _date(item.get("publishedAt") or paper.get("publishedAt"))
    return (
        tex_entry(title, abstract, index, authors, arxiv, links, extra),
        published,
    )


def _date(value: Any) -> dt.date | None:
    if not value:
        return None
    return dt.date.fromisoformat(str(value)[:10])

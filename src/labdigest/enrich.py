"""`labdigest enrich`: papers known by their title alone (a copied HF papers page gives
titles and abstracts only) looked up in the arXiv API by title. A hit is taken only
when its normalized title is the paper's; it fills what the paper lacks (its arXiv id,
authors, links, dates, categories), as ingest does from an Atom feed, and never changes
what is there. One request every three seconds, as arXiv asks; every answer is kept in
the build cache, so a second run asks nothing it asked before."""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from labdigest.cache import FOLDER
from labdigest.errors import IngestError
from labdigest.fetch import download
from labdigest.ingest import arxiv_atom
from labdigest.ingest.base import Entry, decode
from labdigest.ingest.store import PaperStore
from labdigest.models import Paper
from labdigest.output.files import write_atomic
from labdigest.slugs import normalize_title

API_URL = "http://export.arxiv.org/api/query"
REQUEST_INTERVAL = 3.0  # seconds between two requests: arXiv's terms of use
ANSWERS = "arxiv-answers.json"  # in the build cache: query URL → the API's answer


@dataclass(slots=True)
class EnrichReport:
    candidates: int = 0  # papers with no arXiv id, DOI or link
    asked: int = 0  # requests sent
    cached: int = 0  # answers taken from the cache
    found: list[str] = field(default_factory=list)  # slugs filled in
    unmatched: list[str] = field(default_factory=list)  # slugs the API had no equal title for
    problems: list[str] = field(default_factory=list)  # failed requests, by slug


def needs_lookup(paper: Paper) -> bool:
    return not paper.arxiv and not paper.links and not dict(paper.extra).get("doi")


def query_url(api_url: str, title: str) -> str:
    words = " ".join(title.replace('"', " ").split())
    query = urllib.parse.urlencode({"search_query": f'ti:"{words}"', "max_results": 5})
    return f"{api_url}?{query}"


def enrich(
    content_dir: Path,
    *,
    api_url: str = API_URL,
    limit: int | None = None,
    timeout: float = 30.0,
    on_paper: Callable[[int, int], None] = lambda done, total: None,
) -> EnrichReport:
    store = PaperStore(content_dir)
    answers_path = content_dir.absolute().parent / FOLDER / ANSWERS
    answers = _load_answers(answers_path)
    papers = sorted((p for p in store.papers.values() if needs_lookup(p)), key=lambda p: p.slug)
    report = EnrichReport(candidates=len(papers))
    last_request = float("-inf")
    for number, paper in enumerate(papers[:limit], start=1):
        on_paper(number, min(len(papers), limit or len(papers)))
        url = query_url(api_url, paper.title)
        text = answers.get(url)
        if text is None:
            time.sleep(max(0.0, last_request + REQUEST_INTERVAL - time.monotonic()))
            last_request = time.monotonic()
            try:
                text = _answer(url, timeout)
            except IngestError as error:
                report.problems.append(f"{paper.slug}: {error}")
                continue
            report.asked += 1
            answers[url] = text
            write_atomic(answers_path, json.dumps(answers, sort_keys=True).encode("utf-8"))
        else:
            report.cached += 1
        match = _same_title(paper, text, url)
        if match is not None and store.fill(paper.slug, match):
            report.found.append(paper.slug)
        elif match is None:
            report.unmatched.append(paper.slug)
    store.save()
    return report


def _answer(url: str, timeout: float) -> str:
    """The API's answer to a query, if it is one (a feed, perhaps of no entries)."""
    text = decode(download(url, timeout), url)
    try:
        arxiv_atom.read(text, url)
    except IngestError as error:
        if "has no entries" not in str(error):
            raise
    return text


def _same_title(paper: Paper, answer: str, url: str) -> Entry | None:
    try:
        entries = arxiv_atom.read(answer, url).entries
    except IngestError:  # no entries: nothing matched the title
        return None
    wanted = normalize_title(paper.title)
    return next((entry for entry in entries if normalize_title(entry.title) == wanted), None)


def _load_answers(path: Path) -> dict[str, str]:
    try:
        answers = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}
    return answers if isinstance(answers, dict) else {}

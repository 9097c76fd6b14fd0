"""A saved HTML page that lists papers, read with beautifulsoup4: arXiv listing pages
(<dl> of <dt>/<dd> pairs) and pages with one <article> per paper (the HF papers page,
most blogs and lab pages). Title, abstract, authors and arXiv link where present."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from labdigest.errors import IngestError
from labdigest.ingest.base import DateHint, Entry, ReadResult
from labdigest.ingest.tex import tex_to_unicode
from labdigest.slugs import arxiv_base_id

if TYPE_CHECKING:
    from bs4 import Tag

# arxiv.org/abs/ID, arxiv.org/pdf/ID.pdf, huggingface.co/papers/ID, and the same links
# relative to the page (/abs/ID on arXiv's own listings, /papers/ID on the HF page).
ARXIV_LINK_RE = re.compile(
    r"(?:arxiv\.org/(?:abs|pdf)/|huggingface\.co/papers/|^/(?:abs|pdf|papers)/)"
    r"([\w./-]+?)(?:v\d+)?(?:\.pdf)?/?$"
)
LISTING_DATE_RE = re.compile(r"\bfor\s+\w{3},\s+(\d{1,2})\s+(\w{3})\w*\s+(\d{2,4})")
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def looks_like(text: str) -> bool:
    start = text.lstrip()[:1000].lower()
    return start.startswith(("<!doctype html", "<html")) or "<body" in start


def read(text: str, path: str) -> ReadResult:
    # Imported here: every ingest loads this module, few read HTML (bs4 takes 0.08 s).
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(text, "html.parser")
    result = ReadResult()
    listing = soup.select("dl > dt")
    if listing:
        _read_arxiv_listing(soup, result, path)
        result.date = _listing_date(soup)
    else:
        _read_articles(soup, result, path)
    if not result.entries and not result.problems:
        raise IngestError(
            "no papers found: expected <article> elements or an arXiv <dl> listing", path
        )
    return result


def _clean(text: str) -> str:
    return " ".join(text.split())


def _without_label(tag: Tag | None, label: str) -> str:
    if tag is None:
        return ""
    for descriptor in tag.select(".descriptor"):
        descriptor.decompose()
    return _clean(tag.get_text(" ")).removeprefix(label).strip()


def _arxiv_in(tag: Tag) -> str | None:
    for link in tag.find_all("a", href=True):
        match = ARXIV_LINK_RE.search(str(link["href"]))
        if match and (arxiv := arxiv_base_id(match.group(1))):
            return arxiv
    return None


def _line(tag: Tag) -> int:
    return int(getattr(tag, "sourceline", None) or 0)


def _read_arxiv_listing(soup: Any, result: ReadResult, path: str) -> None:
    from bs4 import Tag

    for dt_tag in soup.select("dl > dt"):
        dd = dt_tag.find_next_sibling("dd")
        if not isinstance(dd, Tag):
            continue
        title = _without_label(dd.select_one(".list-title"), "Title:")
        authors_tag = dd.select_one(".list-authors")
        authors = (
            tuple(_clean(a.get_text()) for a in authors_tag.find_all("a")) if authors_tag else ()
        )
        abstract_tag = dd.select_one("p.mathjax") or dd.find("p")
        abstract = _clean(abstract_tag.get_text(" ")) if abstract_tag else ""
        _add(
            result,
            path,
            _line(dt_tag),
            title,
            abstract,
            authors,
            _arxiv_in(dt_tag) or _arxiv_in(dd),
        )


def _listing_date(soup: Any) -> DateHint | None:
    """'New submissions for Wed, 15 Jan 25' on an arXiv listing page."""
    for heading in soup.find_all(["h2", "h3"]):
        match = LISTING_DATE_RE.search(_clean(heading.get_text(" ")))
        if match and match.group(2).lower()[:3] in MONTHS:
            year = int(match.group(3))
            month = MONTHS.index(match.group(2).lower()[:3]) + 1
            year = year + 2000 if year < 100 else year
            return DateHint(_line(heading), month, int(match.group(1)), year)
    return None


def _read_articles(soup: Any, result: ReadResult, path: str) -> None:
    for article in soup.find_all("article"):
        heading = article.find(["h1", "h2", "h3", "h4"])
        title = _clean(heading.get_text(" ")) if heading else ""
        paragraphs = [p for p in article.find_all("p") if not p.find_parent(class_="authors")]
        abstract = max((_clean(p.get_text(" ")) for p in paragraphs), key=len, default="")
        authors_tag = article.select_one(".authors, [itemprop=author]")
        authors: tuple[str, ...] = ()
        if authors_tag is not None:
            names = [
                _clean(a.get_text())
                for a in authors_tag.find_all(["a", "li", "span"])
                if _clean(a.get_text())
            ]
            authors = tuple(names) or tuple(
                n.strip() for n in _clean(authors_tag.get_text()).split(",") if n.strip()
            )
        _add(result, path, _line(article), title, abstract, authors, _arxiv_in(article))


def _add(
    result: ReadResult,
    path: str,
    line: int,
    title: str,
    abstract: str,
    authors: tuple[str, ...],
    arxiv: str | None,
) -> None:
    if not title:
        result.problems.append(IngestError("a paper with no title; skipped", path, line or None))
        return
    if not abstract:
        result.problems.append(
            IngestError(f"{title!r} has no abstract; skipped", path, line or None)
        )
        return
    result.entries.append(
        Entry(
            title=tex_to_unicode(title),
            abstract=tex_to_unicode(abstract),
            line=line,
            authors=authors,
            arxiv=arxiv,
        )
    )

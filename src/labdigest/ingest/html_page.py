"""A saved HTML page that lists papers, read with beautifulsoup4: arXiv listing pages
(<dl> of <dt>/<dd> pairs), pages with one <article> per paper (the HF papers page, most
blogs), and pages of repeated cards, each holding a link to one paper (newsletters,
bots, lab pages). Title (a heading, else the paper's link), abstract (the longest prose,
KaTeX formulas as $TeX$), authors where marked, and the arXiv id from any arXiv or HF
link, the DOI from a DOI link."""

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
DOI_LINK_RE = re.compile(r"doi\.org/(10\.\d{4,9}/\S+?)/?$", re.I)
OPENREVIEW_LINK_RE = re.compile(r"openreview\.net/(?:forum|pdf)\?id=([\w-]+)")
BLOCKS = ["p", "details", "blockquote", "div", "section"]
NOT_TITLES = frozenset({"pdf", "arxiv", "abs", "abstract", "html", "paper", "code", "doi"})
LOOKED_FOR = (
    "no papers found: looked for an arXiv <dl> listing, <article> elements, and repeated "
    "elements each holding a link to one paper (arXiv, Hugging Face, OpenReview, a DOI)"
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
    _katex_as_tex(soup)
    result = ReadResult()
    if soup.select("dl > dt"):
        _read_arxiv_listing(soup, result, path)
        result.date = _listing_date(soup)
    else:
        cards = soup.find_all("article") or _repeated_cards(soup)
        for card in cards:
            _read_card(card, result, path)
    if not result.entries and not result.problems:
        raise IngestError(LOOKED_FOR, path)
    return result


def _katex_as_tex(soup: Any) -> None:
    """A KaTeX formula as the TeX it was made from ($…$), not its rendered boxes."""
    for formula in soup.select(".katex"):
        tex = formula.select_one('annotation[encoding="application/x-tex"]')
        formula.replace_with(f"${tex.get_text()}$" if tex else formula.get_text())


def _paper_key(href: str) -> str | None:
    """Which paper a link leads to (its arXiv id, DOI or OpenReview id), if any."""
    for pattern, kind in (
        (ARXIV_LINK_RE, "arxiv"),
        (DOI_LINK_RE, "doi"),
        (OPENREVIEW_LINK_RE, "or"),
    ):
        if match := pattern.search(href):
            return f"{kind}:{match.group(1).lower()}"
    return None


def _repeated_cards(soup: Any) -> list[Tag]:
    """The elements that each hold one paper: from each link to a paper, the largest
    element around it that links to no other paper; of those, the ones repeated (the
    same tag and classes), most of them."""
    holders: dict[int, set[str]] = {}
    links = []
    for link in soup.find_all("a", href=True):
        key = _paper_key(str(link["href"]))
        if key is None:
            continue
        links.append(link)
        for parent in link.parents:
            holders.setdefault(id(parent), set()).add(key)
    cards: dict[int, Tag] = {}
    for link in links:
        node = link
        while node.parent is not None and node.parent.name not in ("body", "html", "[document]"):
            if len(holders[id(node.parent)]) != 1:
                break
            node = node.parent
        cards.setdefault(id(node), node)
    shapes: dict[tuple[str, tuple[str, ...]], list[Tag]] = {}
    for card in cards.values():
        shapes.setdefault((card.name, tuple(sorted(card.get("class") or ()))), []).append(card)
    repeated = max(shapes.values(), key=len, default=[])
    return repeated if len(repeated) > 1 else []


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


def _read_card(card: Tag, result: ReadResult, path: str) -> None:
    authors_tag = card.select_one('.authors, [itemprop=author], [class*="author"]')
    authors = _names(authors_tag) if authors_tag is not None else ()
    title = _title(card)
    # The longest prose of a block that holds no other block (a wrapper would hold the
    # title, the links and more), outside the authors.
    blocks = card.find_all(BLOCKS)
    abstract = max(
        (
            text
            for block in blocks
            if not block.find(BLOCKS)
            and not (authors_tag and (block is authors_tag or authors_tag in block.parents))
            and (text := _prose(block, title))
        ),
        key=len,
        default="",
    )
    extra: tuple[tuple[str, object], ...] = ()
    links: tuple[tuple[str, str], ...] = ()
    for link in card.find_all("a", href=True):
        key = _paper_key(str(link["href"]))
        if key and key.startswith("doi:") and not extra:
            extra = (("doi", DOI_LINK_RE.search(str(link["href"])).group(1)),)  # type: ignore[union-attr]
        elif key and key.startswith("or:") and not links:
            href = str(link["href"])
            if href.startswith(("https://", "http://")):  # never javascript: or the like
                links = (("other", href),)
    _add(result, path, _line(card), title, abstract, authors, _arxiv_in(card), links, extra)


def _title(card: Tag) -> str:
    """The card's heading, else the text of its link to the paper (the longest one that
    is not a bare 'PDF' or 'arXiv')."""
    heading = card.find(["h1", "h2", "h3", "h4", "h5"])
    if heading is not None and _clean(heading.get_text(" ")):
        return _clean(heading.get_text(" "))
    texts = [
        _clean(link.get_text(" "))
        for link in card.find_all("a", href=True)
        if _paper_key(str(link["href"]))
    ]
    texts = [text for text in texts if text.lower().strip(" []()") not in NOT_TITLES]
    return max(texts, key=len, default="")


def _prose(block: Tag, title: str) -> str:
    """The text of a block that holds prose of its own (not only the title, or a summary
    line such as 'Abstract')."""
    for summary in block.find_all("summary"):
        summary.extract()
    text = _clean(block.get_text(" "))
    if text == title or len(text.split()) < 4:
        return ""
    return text.removeprefix(title).strip() if text.startswith(title) and title else text


def _names(tag: Tag) -> tuple[str, ...]:
    names = [
        _clean(part.get_text())
        for part in tag.find_all(["a", "li", "span"])
        if _clean(part.get_text())
    ]
    if names:
        return tuple(names)
    return tuple(n.strip() for n in _clean(tag.get_text()).split(",") if n.strip())


def _add(
    result: ReadResult,
    path: str,
    line: int,
    title: str,
    abstract: str,
    authors: tuple[str, ...],
    arxiv: str | None,
    links: tuple[tuple[str, str], ...] = (),
    extra: tuple[tuple[str, object], ...] = (),
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
            links=links,
            extra=extra,
        )
    )

"""What templates see: one view-model per thing shown, built from the domain values.
Kept apart from the Paper the pipeline carries, so templates never reach into content."""

from __future__ import annotations

import html
import json
import pickle
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import cast, overload
from urllib.parse import quote_plus

from markupsafe import Markup

from labdigest.models import Paper, fast_pickle
from labdigest.slugs import ascii_words

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
TEASER_LENGTH = 260
FOLD_LENGTH = 800  # about 8 lines of the paper page's measure: longer abstracts fold
FOLD_TEASER_LENGTH = 480
AUTHORS_SHOWN = 8
_TAG_RE = re.compile(r"<[^>]+>")
LINK_LABELS = {"code": "Code", "project": "Project page", "pdf": "PDF", "other": "Link"}
# Front-matter fields that readers fill from arXiv and HF metadata, shown as facts.
DETAIL_LABELS = {
    "categories": "Categories",
    "comments": "Comments",
    "journal_ref": "Journal reference",
    "doi": "DOI",
    "published_doi": "Published as",
    "published": "First published",
    "updated": "Updated",
    "upvotes": "Upvotes on Hugging Face",
}


@fast_pickle
@dataclass(frozen=True, slots=True)
class Link:
    text: str
    url: str


@fast_pickle
@dataclass(frozen=True, slots=True)
class Detail:
    label: str
    text: str
    url: str | None = None


@fast_pickle
@dataclass(frozen=True, slots=True)
class AuthorView:
    name: str
    member: bool  # one of the lab's own: highlighted


@fast_pickle
@dataclass(frozen=True, slots=True)
class TopicView:
    slug: str
    name: str
    description: str
    url: str
    search_url: str
    feed_url: str
    bib_url: str
    count: int


@fast_pickle
@dataclass(frozen=True, slots=True)
class TopicTag:
    """A topic as a paper shows it: a tag. Not the TopicView, whose count changes with
    every paper the topic gains; a paper's page and card stay as they were."""

    slug: str
    name: str
    url: str


@fast_pickle
@dataclass(frozen=True, slots=True)
class PaperView:
    slug: str
    title: str
    url: str
    absolute_url: str
    date: str
    date_text: str
    year: str
    authors: tuple[AuthorView, ...]
    arxiv: str | None
    links: tuple[Link, ...]  # arXiv abs / PDF / HTML first, then the paper's own links
    find_links: tuple[Link, ...]  # searches for a paper known by its title alone
    topics: tuple[TopicTag, ...]
    phrases: tuple[Link, ...]  # key phrases, each a link into search
    digests: tuple[Link, ...]
    abstract_html: Markup
    abstract_text: str
    teaser: str
    blurb: str  # a line of the abstract, for compact lists
    details: tuple[Detail, ...]
    withdrawn: str | None
    notes_html: Markup | None
    cite_key: str
    bibtex: str
    bib_url: str

    @property
    def authors_shown(self) -> tuple[AuthorView, ...]:
        return (
            self.authors[:AUTHORS_SHOWN] if len(self.authors) > AUTHORS_SHOWN + 2 else self.authors
        )

    @property
    def authors_folded(self) -> tuple[AuthorView, ...]:
        return self.authors[len(self.authors_shown) :]

    @property
    def folds(self) -> bool:
        return len(self.abstract_text) > FOLD_LENGTH

    @property
    def fold_teaser(self) -> str:
        return teaser(self.abstract_text, FOLD_TEASER_LENGTH)

    @property
    def has_member(self) -> bool:
        return any(a.member for a in self.authors)


class Views(Mapping[str, PaperView]):
    """slug → PaperView, each kept as its pickle (load(slug) reads it), unpickled when
    something asks for it and not held after: a rebuild shows a few hundred of 10,000
    views, and a clean build's lists and feeds show each view once or twice."""

    __slots__ = ("_slugs", "stored")

    def __init__(self, slugs: Iterable[str], load: Callable[[str], bytes]):
        self._slugs = dict.fromkeys(slugs)
        self.stored = load  # slug → the view's pickle (to send to worker processes)

    def __getitem__(self, slug: str) -> PaperView:
        if slug not in self._slugs:
            raise KeyError(slug)
        return cast(PaperView, pickle.loads(self.stored(slug)))

    def __contains__(self, slug: object) -> bool:
        return slug in self._slugs

    def __iter__(self) -> Iterator[str]:
        return iter(self._slugs)

    def __len__(self) -> int:
        return len(self._slugs)

    def listed(self, slugs: Iterable[str]) -> ViewList:
        return ViewList(self, tuple(slugs))


class ViewList(Sequence[PaperView]):
    """Papers in a list's order (a digest's, a topic's): their slugs, and the views
    unpickled one by one as they are shown. Keys of pages are made from `slugs`."""

    __slots__ = ("slugs", "views")

    def __init__(self, views: Views, slugs: tuple[str, ...]):
        self.views = views
        self.slugs = slugs

    @overload
    def __getitem__(self, index: int) -> PaperView: ...

    @overload
    def __getitem__(self, index: slice) -> ViewList: ...

    def __getitem__(self, index: int | slice) -> PaperView | ViewList:
        if isinstance(index, slice):
            return ViewList(self.views, self.slugs[index])
        return self.views[self.slugs[index]]

    def __len__(self) -> int:
        return len(self.slugs)

    def __iter__(self) -> Iterator[PaperView]:
        return map(self.views.__getitem__, self.slugs)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, ViewList) and other.views is self.views and other.slugs == self.slugs
        )

    def __hash__(self) -> int:
        return hash(self.slugs)

    def __repr__(self) -> str:
        return f"ViewList({self.slugs!r})"


@fast_pickle
@dataclass(frozen=True, slots=True)
class DigestNav:
    digest: Link
    position: int
    total: int
    previous: Link | None
    next: Link | None


@fast_pickle
@dataclass(frozen=True, slots=True)
class DigestView:
    id: str
    date: str
    date_text: str
    url: str
    source: str
    kind: str  # what the digest was: "the arXiv e-mail", "a Hugging Face papers page"…
    count: int  # papers in it (in the order the digest listed them: Context.digest_papers)
    bib_url: str
    email_url: str
    text_url: str


@dataclass(frozen=True, slots=True)
class HomeGroup:
    """The latest digest's papers whose first topic is this one: a few shown, the rest
    folded, and how many more only the digest's page lists."""

    topic: TopicView
    shown: ViewList
    folded: ViewList
    elsewhere: int


@dataclass(frozen=True, slots=True)
class FacetValue:
    text: str  # as the search records' filter holds it
    count: int  # papers of the site with it


@dataclass(frozen=True, slots=True)
class Facet:
    """A filter of the search page (topic, year) with every value the site has."""

    name: str
    legend: str
    values: tuple[FacetValue, ...]


@dataclass(frozen=True, slots=True)
class Pager:
    """Where one page of a long list of papers (a topic's, a digest's) stands."""

    number: int  # from 1
    count: int  # pages in all
    start: int  # the list number of the page's first paper
    previous_url: str | None
    next_url: str | None


@dataclass(frozen=True, slots=True)
class TopicPager:
    """Where one page of a topic's papers stands (see render.lists.archive_page)."""

    number: int | None  # the archive page's number; None on the topic's own page
    newer_url: str | None
    older_url: str | None


# The views that hold no PaperView: their repr describes them whole (page keys).
PLAIN_VIEWS = (
    Link,
    Detail,
    AuthorView,
    TopicView,
    TopicTag,
    DigestNav,
    DigestView,
    Pager,
    TopicPager,
    Facet,
    FacetValue,
)


def format_date(iso: str) -> str:
    """'2026-03-11' → '11 March 2026', independent of the machine's locale."""
    year, month, day = iso.split("-")
    return f"{int(day)} {MONTHS[int(month) - 1]} {year}"


def plain_text(rendered_html: str) -> str:
    return " ".join(html.unescape(_TAG_RE.sub(" ", rendered_html)).split())


def teaser(text: str, limit: int = TEASER_LENGTH) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(",;:.!?") + "…"  # never "(HPS).…"


def person_key(name: str) -> str:
    """'José  Martínez' and 'jose martinez' are one person to the lab view."""
    return " ".join(ascii_words(name)) or name.casefold()


def json_ld(data: dict[str, object]) -> Markup:
    """A JSON-LD block that cannot end its <script> element early."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=True)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)


def paper_links(paper: Paper) -> tuple[Link, ...]:
    links: list[Link] = []
    if paper.arxiv:
        links += [
            Link("arXiv", f"https://arxiv.org/abs/{paper.arxiv}"),
            Link("PDF", f"https://arxiv.org/pdf/{paper.arxiv}"),
            Link("HTML", f"https://arxiv.org/html/{paper.arxiv}"),
        ]
    for kind, url in paper.links:
        if kind == "pdf" and paper.arxiv:
            continue
        links.append(Link(LINK_LABELS.get(kind, kind), url))
    return tuple(links)


def find_links(paper: Paper) -> tuple[Link, ...]:
    """Searches by title, for a paper with no arXiv id, DOI or link (a copied HF page
    gives titles and abstracts only): built here, with no network at build time."""
    if paper.arxiv or paper.links or dict(paper.extra).get("doi"):
        return ()
    title, quoted = quote_plus(paper.title), quote_plus(f'"{paper.title}"')
    return (
        Link("arXiv", f"https://arxiv.org/search/?searchtype=title&query={title}"),
        Link("Semantic Scholar", f"https://www.semanticscholar.org/search?q={title}"),
        Link(
            "Google Scholar",
            f"https://scholar.google.com/scholar?q={quoted}",
        ),
    )


def details(paper: Paper) -> tuple[Detail, ...]:
    extra = dict(paper.extra)
    details = []
    for key, label in DETAIL_LABELS.items():
        value = extra.get(key)
        if value is None or isinstance(value, (list, dict)) or value == "":
            continue
        text = str(value)
        is_doi = key in ("doi", "published_doi") and not text.startswith("http")
        url = f"https://doi.org/{text}" if is_doi else None
        details.append(Detail(label, text, url))
    return tuple(details)


def list_page(folder: str, number: int) -> str:
    """Page `number` (from 1) of a list of papers split into pages, as a folder (or URL)
    under the list's own: folder itself, then folder/page/2/ and on (Hugo's addresses)."""
    return folder if number == 1 else f"{folder}page/{number}/"


def digest_nav(
    digest: DigestView, neighbours: Sequence[Link], position: int, per_page: int
) -> DigestNav:
    """A paper's place in a digest (neighbours: a link to each of its papers, in order);
    the digest link goes to the page of its list that holds the paper."""

    def link(index: int) -> Link | None:
        return neighbours[index] if 0 <= index < len(neighbours) else None

    return DigestNav(
        digest=Link(digest.date_text, list_page(digest.url, position // per_page + 1)),
        position=position + 1,
        total=len(neighbours),
        previous=link(position - 1),
        next=link(position + 1),
    )

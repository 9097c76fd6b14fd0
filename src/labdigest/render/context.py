"""What the pages are rendered from, made once per build: every paper's view (from the
build cache where its inputs are unchanged, else made on every core), the topic and
digest views, where each paper was first seen, the lab's papers."""

from __future__ import annotations

import functools
import hashlib
import pickle
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple
from urllib.parse import quote_plus

from markupsafe import Markup

from labdigest import cite, markup, parallel
from labdigest.cache import Cache, Shelf, by_date, per_item_apart
from labdigest.models import Digest, Library, Paper, Topic
from labdigest.render.environment import Renderer, RendererSpec, renderer_for
from labdigest.topics import TopicIndex
from labdigest.urls import Site
from labdigest.views import (
    AuthorView,
    DigestView,
    Link,
    PaperView,
    TopicTag,
    TopicView,
    ViewList,
    Views,
    details,
    find_links,
    format_date,
    paper_links,
    person_key,
    plain_text,
    teaser,
)

BLURB_LENGTH = 140  # a line of a compact card

# What each digest format is, as a digest's page names it.
DIGEST_KINDS = {
    "text": "a Hugging Face papers page",
    "arxiv-email": "the arXiv e-mail",
    "hf-json": "Hugging Face daily papers",
    "arxiv-atom": "an arXiv API query",
    "arxiv-rss": "an arXiv category feed",
    "biorxiv": "a bioRxiv or medRxiv listing",
    "html": "a saved web page",
}


@dataclass(frozen=True, slots=True)
class Context:
    library: Library
    topics: TopicIndex
    papers: Views
    view_keys: dict[str, str]  # slug → the SHA-1 of its view's pickle
    bib_keys: dict[str, str]  # slug → the SHA-1 of its BibTeX
    bibtex: dict[str, str]  # slug → its BibTeX (the collections are made of them)
    topic_views: dict[str, TopicView]
    digests: list[DigestView]
    digest_papers: dict[str, ViewList]  # digest id → its papers, in the digest's order
    first_seen: dict[str, DigestView]  # paper slug → the earliest digest it is in
    lab_papers: list[str]  # the slugs of papers by a member of the lab
    record_keys: dict[str, str]  # slug → the SHA-1 of its search record
    kept: KeptViews  # each paper's view, search record and cards, read when needed


class ViewFacts(NamedTuple):
    """What every build reads of a paper's view, as kept in the build cache: the view's
    key (the digest of its pickle), whether a lab member is one of its authors, the key
    of its search record, its BibTeX (the .bib collections are made of them) and its
    key. The rest (view_data) is read only for the pages that show it."""

    key: str
    by_member: bool
    record_key: str
    bibtex: str
    bib_key: str


# The rest of a paper's view, as kept in the build cache apart from its facts: its
# pickle, its search record (what Pagefind indexes of it) and its cards (h3 as related
# lists show it, h2 as other lists do; the renderer marks a card safe when it shows it),
# one after the other behind their sizes, so that each is taken without unpickling the
# others.
STORED, RECORD = 0, 1
CARDS = {"h3": 2, "h2": 3}  # the cards made with each view, by heading
_SIZES = struct.Struct("<4I")


def view_data(stored: bytes, record: str, cards: tuple[str, str]) -> bytes:
    parts = (stored, record.encode("utf-8"), *(card.encode("utf-8") for card in cards))
    return _SIZES.pack(*map(len, parts)) + b"".join(parts)


@dataclass(frozen=True, slots=True)
class KeptViews:
    """Each paper's view data (view_data), read from the cache's shelf when asked for."""

    shelf: Shelf

    def _part(self, slug: str, index: int) -> bytes:
        data = self.shelf[slug]
        sizes = _SIZES.unpack_from(data)
        start = _SIZES.size + sum(sizes[:index])
        return data[start : start + sizes[index]]

    def stored(self, slug: str) -> bytes:
        return self._part(slug, STORED)

    def record(self, slug: str) -> str:
        return self._part(slug, RECORD).decode("utf-8")

    def card(self, slug: str, heading: str) -> str | None:
        """The card as made with the view (h3 or h2; None for another heading)."""
        index = CARDS.get(heading)
        return None if index is None else self._part(slug, index).decode("utf-8")


@dataclass(frozen=True, slots=True)
class ViewMaker:
    """What making a paper's view needs besides the paper (sent once to each worker)."""

    renderer: RendererSpec
    topic_views: dict[str, TopicView]
    digest_names: dict[str, str]


@dataclass(frozen=True, slots=True)
class ViewInputs:
    paper: Paper
    topics: tuple[str, ...]
    phrases: tuple[str, ...]
    cite_key: str


def make_context(
    renderer: Renderer,
    spec: RendererSpec,
    library: Library,
    topics: TopicIndex,
    cache: Cache | None,
    pool: parallel.Pool,
) -> Context:
    build_key, site = renderer.build_key, renderer.site
    topic_views = {t.slug: topic_view(site, t, topics) for t in topics.topics}
    digest_names = {d.id: f"Digest of {format_date(d.date)}" for d in library.digests}
    maker = ViewMaker(spec, topic_views, digest_names)
    by_slug = library.by_slug or {p.slug: p for p in library.papers}

    def inputs(paper: Paper) -> ViewInputs:
        return ViewInputs(
            paper,
            topics.of_paper[paper.slug],
            topics.phrases_of[paper.slug],
            library.citation_keys[paper.slug],
        )

    def input_key(paper: Paper) -> str:
        """Everything a paper's view is made from, besides settings and code (in the
        cache's key): the paper stands in as its file's key where there is one."""
        source = library.source_keys.get(paper.slug) or _digest(repr(paper))
        names = [str(digest_names.get(d)) for d in paper.digests]
        parts = (source, *topics.of_paper[paper.slug], "\1", *topics.phrases_of[paper.slug])
        return _digest("\0".join((*parts, "\1", *names, library.citation_keys[paper.slug])))

    def make_views(slugs: list[str]) -> list[tuple[ViewFacts, bytes]]:
        return pool.map(functools.partial(make_view, maker), [inputs(by_slug[s]) for s in slugs])

    facts, shelf = per_item_apart(
        cache,
        "views",
        build_key,
        {p.slug: input_key(p) for p in library.papers},
        make_views,
        group=by_date(library.papers),
    )
    kept = KeptViews(shelf)
    papers = Views(facts, kept.stored)
    renderer.card_source = kept.card
    digests = [digest_view(site, d) for d in library.digests]
    digest_papers = {d.id: papers.listed(e.slug for e in d.papers) for d in library.digests}
    first_seen: dict[str, DigestView] = {}
    for digest in sorted(digests, key=lambda d: (d.date, d.id)):
        for slug in digest_papers[digest.id].slugs:
            first_seen.setdefault(slug, digest)
    return Context(
        library=library,
        topics=topics,
        papers=papers,
        view_keys={slug: entry.key for slug, entry in facts.items()},
        bib_keys={slug: entry.bib_key for slug, entry in facts.items()},
        bibtex={slug: entry.bibtex for slug, entry in facts.items()},
        topic_views=topic_views,
        digests=digests,
        digest_papers=digest_papers,
        first_seen=first_seen,
        lab_papers=[slug for slug, entry in facts.items() if entry.by_member],
        record_keys={slug: entry.record_key for slug, entry in facts.items()},
        kept=kept,
    )


def make_view(maker: ViewMaker, inputs: ViewInputs) -> tuple[ViewFacts, bytes]:
    """A paper's view, its cards and search record (on a worker, or here): its facts,
    and its view data."""
    renderer = renderer_for(maker.renderer)
    view = paper_view(maker, inputs)
    stored = pickle.dumps(view, protocol=5)
    cards = (str(renderer.card(view, "h3")), str(renderer.card(view, "h2")))
    record = renderer.render_template("search-record.html", {"paper": view})
    key = hashlib.sha1(stored).hexdigest()
    bibtex = view.bibtex
    facts = ViewFacts(key, view.has_member, _digest(record), bibtex, _digest(bibtex))
    return facts, view_data(stored, record, cards)


def paper_view(maker: ViewMaker, inputs: ViewInputs) -> PaperView:
    paper, config = inputs.paper, maker.renderer.config
    site = renderer_for(maker.renderer).site
    members = {person_key(m) for m in config.lab_members}
    abstract_html = markup.render(paper.body)
    absolute_url = site.absolute(f"papers/{paper.slug}/")
    abstract_text = plain_text(abstract_html)
    views = maker.topic_views
    return PaperView(
        slug=paper.slug,
        title=paper.title,
        url=site.paper_url(paper.slug),
        absolute_url=absolute_url,
        date=paper.date,
        date_text=format_date(paper.date),
        year=paper.date[:4],
        authors=tuple(AuthorView(a, person_key(a) in members) for a in paper.authors),
        arxiv=paper.arxiv,
        links=paper_links(paper),
        find_links=find_links(paper),
        topics=tuple(
            TopicTag(views[slug].slug, views[slug].name, views[slug].url) for slug in inputs.topics
        ),
        phrases=tuple(Link(p, site.search_url(p)) for p in inputs.phrases),
        digests=tuple(
            Link(maker.digest_names[d], site.digest_url(d))
            for d in paper.digests
            if d in maker.digest_names  # a digest whose manifest is gone has no page to link
        ),
        abstract_html=Markup(abstract_html),  # markdown-it output, raw HTML off
        abstract_text=abstract_text,
        teaser=teaser(abstract_text),
        blurb=teaser(abstract_text, BLURB_LENGTH),
        details=details(paper),
        withdrawn=str(dict(paper.extra).get("withdrawn") or "") or None,
        notes_html=Markup(markup.render(paper.notes)) if paper.notes else None,
        cite_key=inputs.cite_key,
        bibtex=cite.bibtex(paper, inputs.cite_key, absolute_url),
        bib_url=site.url(f"papers/{paper.slug}/cite.bib"),
    )


def topic_view(site: Site, topic: Topic, topics: TopicIndex) -> TopicView:
    folder = f"topics/{topic.slug}/"
    return TopicView(
        slug=topic.slug,
        name=topic.name,
        description=topic.description,
        url=site.topic_url(topic.slug),
        search_url=site.url("search/") + "?topic=" + quote_plus(topic.name),
        feed_url=site.url(folder + "feed.xml"),
        bib_url=site.url(folder + "papers.bib"),
        count=len(topics.papers_in[topic.slug]),
    )


def digest_view(site: Site, digest: Digest) -> DigestView:
    folder = f"digests/{digest.id}/"
    return DigestView(
        id=digest.id,
        date=digest.date,
        date_text=format_date(digest.date),
        url=site.digest_url(digest.id),
        source=digest.source,
        kind=DIGEST_KINDS.get(digest.format, "a digest"),
        count=len(digest.papers),
        bib_url=site.url(folder + "papers.bib"),
        email_url=site.url(folder + "email.html"),
        text_url=site.url(folder + "email.txt"),
    )


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def code_folder(cache: Cache | None) -> Path | None:
    """The build cache's folder for compiled templates (None: compile them each time)."""
    if cache is None:
        return None
    try:
        return cache.folder_for("templates")
    except OSError:
        return None

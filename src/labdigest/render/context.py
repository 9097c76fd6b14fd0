"""What the pages are rendered from, made once per build: every paper's view (from the
build cache where its inputs are unchanged, else made on every core), the topic and
digest views, where each paper was first seen, the lab's papers."""

from __future__ import annotations

import hashlib
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple
from urllib.parse import quote_plus

from markupsafe import Markup

from labdigest import cite, markup, parallel
from labdigest.cache import Cache, per_item
from labdigest.models import Digest, Library, Paper, SiteConfig, Topic
from labdigest.related import Links
from labdigest.topics import TopicIndex
from labdigest.views import (
    AuthorView,
    DigestView,
    Link,
    PaperView,
    Site,
    TopicTag,
    TopicView,
    Views,
    details,
    format_date,
    paper_links,
    person_key,
    plain_text,
    teaser,
)


@dataclass(frozen=True, slots=True)
class Context:
    library: Library
    topics: TopicIndex
    related: Links
    papers: Views
    view_keys: dict[str, str]  # slug → the SHA-1 of its view's pickle
    topic_views: dict[str, TopicView]
    digests: list[DigestView]
    first_seen: dict[str, DigestView]  # paper slug → the earliest digest it is in
    lab_papers: list[str]  # the slugs of papers by a member of the lab


class MadeView(NamedTuple):
    """A paper's view as kept in the build cache: its pickle, the pickle's digest (the
    view's key), and whether a member of the lab is one of its authors."""

    stored: bytes
    key: str
    by_member: bool


@dataclass(frozen=True, slots=True)
class ViewMaker:
    """What making a paper's view needs besides the paper (sent once to each worker)."""

    config: SiteConfig
    topic_views: dict[str, TopicView]
    digest_names: dict[str, str]


@dataclass(frozen=True, slots=True)
class ViewInputs:
    paper: Paper
    topics: tuple[str, ...]
    phrases: tuple[str, ...]
    cite_key: str


def make_context(
    config: SiteConfig,
    build_key: str,
    library: Library,
    topics: TopicIndex,
    related: Links,
    cache: Cache | None,
) -> Context:
    site = Site(config)
    topic_views = {t.slug: topic_view(site, t, topics) for t in topics.topics}
    digest_names = {d.id: f"Digest of {format_date(d.date)}" for d in library.digests}
    maker = ViewMaker(config, topic_views, digest_names)
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

    made = per_item(
        cache,
        "views",
        build_key,
        {p.slug: input_key(p) for p in library.papers},
        lambda slugs: parallel.process_map(
            make_view,
            [inputs(by_slug[slug]) for slug in slugs],
            initializer=start_view_worker,
            initargs=(maker,),
        ),
    )
    papers = Views({slug: entry.stored for slug, entry in made.items()})
    digests = [digest_view(site, d, papers) for d in library.digests]
    first_seen: dict[str, DigestView] = {}
    for digest in sorted(digests, key=lambda d: (d.date, d.id)):
        for slug in digest.papers.slugs:
            first_seen.setdefault(slug, digest)
    return Context(
        library=library,
        topics=topics,
        related=related,
        papers=papers,
        view_keys={slug: entry.key for slug, entry in made.items()},
        topic_views=topic_views,
        digests=digests,
        first_seen=first_seen,
        lab_papers=[slug for slug, entry in made.items() if entry.by_member],
    )


_maker: list[ViewMaker] = []  # a worker's ViewMaker, set by start_view_worker


def start_view_worker(maker: ViewMaker) -> None:
    _maker[:] = [maker]


def make_view(inputs: ViewInputs) -> MadeView:
    view = paper_view(_maker[0], inputs)
    stored = pickle.dumps(view, protocol=5)
    return MadeView(stored, hashlib.sha1(stored).hexdigest(), view.has_member)


def paper_view(maker: ViewMaker, inputs: ViewInputs) -> PaperView:
    paper, config = inputs.paper, maker.config
    site = Site(config)
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


def digest_view(site: Site, digest: Digest, papers: Views) -> DigestView:
    folder = f"digests/{digest.id}/"
    return DigestView(
        id=digest.id,
        date=digest.date,
        date_text=format_date(digest.date),
        url=site.digest_url(digest.id),
        source=digest.source,
        papers=papers.listed(e.slug for e in digest.papers),
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

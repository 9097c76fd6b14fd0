"""Library → site files. The Jinja environment and the order of pages; the view-models
live in views.py and the machine-readable files in feeds.py and cite.py. This module
returns OutputFiles and never touches the output folder."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import itertools
import pickle
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import quote_plus

import jinja2
from markupsafe import Markup

from labdigest import cite, feeds, fingerprint, markup, parallel
from labdigest.cache import Cache, per_item
from labdigest.errors import TemplateError
from labdigest.models import Digest, Library, OutputFile, Paper, SiteConfig, Topic
from labdigest.progress import SILENT, Progress
from labdigest.related import Links
from labdigest.search import SearchBundle
from labdigest.topics import TopicIndex
from labdigest.views import (
    AuthorView,
    DigestView,
    Link,
    Pager,
    PaperView,
    Site,
    TopicTag,
    TopicView,
    ViewList,
    Views,
    details,
    digest_nav,
    format_date,
    json_ld,
    list_page,
    paper_links,
    person_key,
    plain_text,
    teaser,
)

TEMPLATE_SUFFIXES = (".html", ".txt")  # what Jinja reads (assets may be binary)
HOME_PAPERS = 100  # the home page shows this many of the latest digest
EMAIL_MAX_BYTES = 95_000  # Gmail clips messages over 102 KB
EMAIL_MIN_PAPER_BYTES = 300  # a title, a teaser and a link, in a table row


@dataclass(frozen=True, slots=True)
class Context:
    """Everything the pages are rendered from, computed once."""

    library: Library
    topics: TopicIndex
    related: Links
    papers: Views  # unpickled as they are shown
    topic_views: dict[str, TopicView]
    digests: list[DigestView]
    first_seen: dict[str, DigestView]  # paper slug → the earliest digest it is in
    view_keys: dict[str, str]  # paper slug → a digest of its whole view (of its pickle)
    card_keys: dict[str, str]  # paper slug → a digest of what lists of papers show of it
    bib_keys: dict[str, str]  # paper slug → a digest of its BibTeX
    lab_papers: list[str]  # the slugs of papers by a member of the lab
    input_keys: dict[str, str]  # paper slug → a digest of what its view is made from
    digest_keys: dict[str, str]  # digest id → a digest of its view but for its papers
    views_made: int  # how many views were made, not taken from the build cache


class MadeView(NamedTuple):
    """A paper's view as made and kept in the build cache, with what pages are keyed by."""

    stored: bytes  # the pickled PaperView
    key: str  # a digest of the whole view (of `stored`)
    card_key: str  # of what lists of papers show of it
    bib_key: str  # of its BibTeX
    by_member: bool  # a member of the lab is one of its authors


# A page is kept from an earlier build when its key is unchanged: Stage.holds (None: the
# output holds nothing to keep, as in a clean build).
Reuse = Callable[[str, str], bool]


class Renderer:
    def __init__(
        self,
        config: SiteConfig,
        templates_dir: Path,
        reuse: Reuse | None = None,
        cache: Cache | None = None,
        store: Callable[[OutputFile], OutputFile] = lambda file: file,
    ):
        self.config = config
        self.templates_dir = templates_dir
        self.may_reuse = reuse is not None
        self.reuse: Reuse = reuse or (lambda path, key: False)
        self.store = store  # write.store_file in a build: paper pages are written by workers
        self.cache = cache
        self.build_key = _build_key(config, templates_dir)
        self.site = Site(config)
        self.members = {person_key(m) for m in config.lab_members}
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(templates_dir),
            # Everything is escaped but the plain-text e-mail, which no browser renders.
            autoescape=jinja2.select_autoescape(
                enabled_extensions=("html", "xml"), disabled_extensions=("txt",), default=True
            ),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            # A renderer lives for one build: no stat of every template file per page.
            auto_reload=False,
            # Compiled templates are kept with the build cache (keyed by their source).
            bytecode_cache=_template_cache(cache),
        )
        self.env.globals.update(site=self.site, config=config, card=self.card, cards=self.cards)
        self._cards: dict[CardKey, Markup] = {}

    # ---- the whole site ---------------------------------------------------------------

    def render_site(
        self,
        library: Library,
        topics: TopicIndex,
        related: Callable[[], Links],
        progress: Progress = SILENT,
        *,
        search_page: bool = True,
    ) -> list[OutputFile]:
        """Every file of the site; the search page too unless the caller renders it once
        the search index exists (see search_page). related() gives the related papers:
        it is asked for once the views are made (they may still be being ranked)."""
        context = self._context(library, topics, related)

        def other_files() -> list[OutputFile]:
            """The lists, feeds and machine files: they take a core's seconds on a large
            site and need no paper page, so they are made beside the paper pages."""
            search = [self.search_page(None, no_papers=not library.papers)] if search_page else []
            return [
                *self._topic_pages(context),
                *self._digest_pages(context),
                *self._site_pages(context),
                *search,
                *self._machine_files(context),
                *self._assets(),
            ]

        many = len(library.papers) >= parallel.MIN_ITEMS
        if not many or context.views_made * 2 > len(library.papers):
            # Most views made again (a new site, new templates or settings): most paper
            # pages will be too, by the workers, while this process makes the other files
            # from the cards made for the pages.
            others: list[OutputFile] = []
            pages = self._paper_pages(context, progress, lambda: others.extend(other_files()))
            return pages + others
        # An edit: a few pages to render, but 10,000 papers' keys to work out and files to
        # look up (0.3 s): the other files are made in a process of their own meanwhile,
        # and written there too (as the page workers write theirs): papers.json and the
        # sitemap, 23 MB for 10,000 papers, need not travel back to be hashed and written.
        with parallel.in_background(lambda: list(map(self.store, other_files()))) as made_elsewhere:
            return self._paper_pages(context, progress, lambda: None) + made_elsewhere()

    def search_page(self, bundle: SearchBundle | None, *, no_papers: bool = False) -> OutputFile:
        """/search/; given the index's bundle, its <head> names Pagefind's first files. A
        site with no papers has no index: the page says so instead of failing to load it."""
        return self.page(
            "search/index.html", "search.html", search_bundle=bundle, no_papers=no_papers
        )

    def _context(
        self, library: Library, topics: TopicIndex, related: Callable[[], Links]
    ) -> Context:
        topic_views = {t.slug: self._topic_view(t, topics) for t in topics.topics}
        digest_names = {d.id: f"Digest of {format_date(d.date)}" for d in library.digests}
        keys = library.citation_keys

        def view(paper: Paper) -> tuple[MadeView, tuple[Markup, Markup]]:
            abstract = markup.render(paper.body)
            made = self._paper_view(
                paper, topics, topic_views, digest_names, keys[paper.slug], abstract
            )
            # The view travels and is kept as its pickle, whose digest is its key (a
            # tenth of the time of a repr). The cards are made here too, on the worker
            # that has the view: they come back with it.
            stored = pickle.dumps(made, protocol=5)
            entry = MadeView(
                stored,
                _digest_bytes(stored),
                _value_key(_card_fields(made)),
                _digest(made.bibtex),
                made.has_member,
            )
            return entry, self._both_cards(made)

        def make_views(slugs: list[str]) -> list[MadeView]:
            made_count.append(len(slugs))
            views = parallel.fork_map(view, [by_slug[s] for s in slugs], warm_up=True)
            for slug, (_, cards) in zip(slugs, views, strict=True):
                self._keep_cards(slug, cards)
            return [entry for entry, _ in views]

        def inputs(paper: Paper) -> str:
            """Everything a paper's view is made from (besides settings and code): the
            paper stands in as its file's key where there is one (else pickled: equal
            bytes mean equal papers). Its topics stand in as their slugs: a tag's name and
            address come from the settings, in the build key. Texts joined by control
            characters, which none of them holds (titles, phrases and names are single
            lines of printable text)."""
            own_topics = topics.of_paper[paper.slug]
            source = library.source_keys.get(paper.slug) or _value_key(paper)
            return _digest(
                "\0".join(
                    (
                        source,
                        "\1".join(own_topics),
                        "\1".join(topics.phrases_of[paper.slug]),
                        "\1".join(str(digest_names.get(d)) for d in paper.digests),
                        keys[paper.slug],
                    )
                )
            )

        # A view (Markdown most of all) takes 0.1-1 ms: views whose inputs are unchanged
        # come from the cache, and the others are made on every core.
        by_slug = {p.slug: p for p in library.papers}
        input_keys = {p.slug: inputs(p) for p in library.papers}
        made_count: list[int] = []
        made = per_item(
            self.cache,
            "views",
            self.build_key,
            input_keys,
            make_views,
        )
        papers = Views({slug: entry.stored for slug, entry in made.items()})
        card_keys = {slug: entry.card_key for slug, entry in made.items()}
        digests = [self._digest_view(d, papers) for d in library.digests]
        first_seen: dict[str, DigestView] = {}
        for digest in sorted(digests, key=lambda d: (d.date, d.id)):
            for slug in digest.papers.slugs:
                first_seen.setdefault(slug, digest)
        digest_keys = {
            d.id: _digest(repr(dataclasses.replace(d, papers=papers.listed(())))) for d in digests
        }
        return Context(
            library=library,
            topics=topics,
            related=related(),
            papers=papers,
            topic_views=topic_views,
            digests=digests,
            first_seen=first_seen,
            view_keys={slug: entry.key for slug, entry in made.items()},
            card_keys=card_keys,
            bib_keys={slug: entry.bib_key for slug, entry in made.items()},
            lab_papers=[slug for slug, entry in made.items() if entry.by_member],
            input_keys=input_keys,
            digest_keys=digest_keys,
            views_made=sum(made_count),
        )

    # ---- pages -------------------------------------------------------------------------

    def _paper_pages(
        self, context: Context, progress: Progress, meanwhile: Callable[[], None]
    ) -> list[OutputFile]:
        """Every paper's page and BibTeX. Their keys are worked out here, and only the
        files the staging folder does not already hold are rendered (on every core when
        there are many): after an edit to one paper, a handful of 10,000. meanwhile() is
        run here while they are rendered."""
        places: dict[str, list[tuple[DigestView, int]]] = {slug: [] for slug in context.papers}
        for digest in sorted(context.digests, key=lambda d: (d.date, d.id)):
            for position, slug in enumerate(digest.papers.slugs):
                places[slug].append((digest, position))

        def navigation_key(slug: str) -> str:
            """What the page's digest navigation shows: each digest, the place in it and
            the neighbours' cards (their titles and addresses)."""
            parts = []
            for digest, position in places[slug]:
                around = digest.papers.slugs[max(0, position - 1) : position + 2]
                parts.append(f"{context.digest_keys[digest.id]} {position} {len(digest.papers)}")
                parts.extend(context.card_keys[s] for s in around)
            return " ".join(parts)

        def keys_of(slug: str) -> tuple[str, str]:
            related = context.related.get(slug, ())
            page = [context.view_keys[slug], *(context.card_keys[s] for s in related)]
            return self.key_of([*page, navigation_key(slug)]), self.key_of([context.bib_keys[slug]])

        # Each page's keys say whether the staging folder holds it; where it holds
        # nothing (a clean build), each worker works them out for its own pages instead
        # (3 s of this process at 100,000 papers, with a core idle).
        keys = {slug: keys_of(slug) for slug in context.papers} if self.may_reuse else {}

        def paths(slug: str) -> tuple[str, str]:
            return f"papers/{slug}/index.html", f"papers/{slug}/cite.bib"

        def render_paper(slug: str) -> tuple[OutputFile, OutputFile]:
            view = context.papers[slug]
            page_path, bib_path = paths(slug)
            page_key, bib_key = keys.get(slug) or keys_of(slug)
            page = self.keyed_by(
                page_path,
                page_key,
                lambda: (
                    self.page(
                        page_path,
                        "paper.html",
                        paper=view,
                        navs=[digest_nav(d, p, self.config.per_page) for d, p in places[slug]],
                        related=context.papers.listed(context.related.get(slug, ())),
                        description=view.teaser,
                        og_type="article",
                        json_ld=json_ld(self._scholarly_article(view)),
                    ).content
                ),
            )
            bib = self.keyed_by(bib_path, bib_key, lambda: view.bibtex.encode("utf-8"))
            return self.store(page), self.store(bib)

        def held(slug: str) -> bool:
            return all(map(self.reuse, paths(slug), keys[slug]))

        todo = [slug for slug in context.papers if not held(slug)] if keys else list(context.papers)
        if len(todo) * 2 > len(context.papers):
            context.papers.load_all()
            self._render_cards(context)
        made = dict(
            zip(
                todo,
                parallel.fork_map(
                    render_paper,
                    todo,
                    lambda done, total: progress.advance("render", done, total),
                    meanwhile=meanwhile,
                    warm_up=True,  # the page templates compiled once, not in each worker
                ),
                strict=True,
            )
        )
        files: list[OutputFile] = []
        for slug in context.papers:
            if slug in made:
                files.extend(made[slug])
            else:
                files.extend(
                    OutputFile(path, b"", key=key, reused=True)
                    for path, key in zip(paths(slug), keys[slug], strict=True)
                )
        return files

    def _render_cards(self, context: Context) -> None:
        """Every paper's card in the two variants lists show, on every core: a build
        that renders most pages needs them all (related lists, topic and digest pages),
        and the page workers forked after this start with them. The cards of views made
        in this build came with them."""
        slugs = [slug for slug in context.papers if _card_key(slug, "h2") not in self._cards]
        made = parallel.fork_map(lambda slug: self._both_cards(context.papers[slug]), slugs)
        for slug, cards in zip(slugs, made, strict=True):
            self._keep_cards(slug, cards)

    def _both_cards(self, view: PaperView) -> tuple[Markup, Markup]:
        return self.card(view), self.card(view, "h2")

    def _keep_cards(self, slug: str, cards: tuple[Markup, Markup]) -> None:
        self._cards[_card_key(slug, "h3")], self._cards[_card_key(slug, "h2")] = cards

    def _topic_pages(self, context: Context) -> Iterator[OutputFile]:
        views = list(context.topic_views.values())
        yield self.page("topics/index.html", "topics.html", topics=views)
        for topic in context.topics.topics:
            yield from self._topic_files(context, topic)

    def _topic_files(self, context: Context, topic: Topic) -> Iterator[OutputFile]:
        view = context.topic_views[topic.slug]
        members = context.papers.listed(context.topics.papers_in[topic.slug])
        feed = (f"{self.config.title}: {topic.name}", view.feed_url)
        yield from self._paginated(
            context,
            f"topics/{topic.slug}/",
            members,
            [repr(view), repr(topic)],
            "topic.html",
            topic=view,
            description=topic.description or topic.name,
            feeds=[feed],
        )
        yield self._feed(
            context,
            title=f"{self.config.title}: {topic.name}",
            subtitle=topic.description,
            path=f"topics/{topic.slug}/",
            papers=members,
        )
        yield self.keyed(
            f"topics/{topic.slug}/papers.bib",
            [context.bib_keys[s] for s in members.slugs],
            lambda: _bib(members),
        )

    def _digest_pages(self, context: Context) -> Iterator[OutputFile]:
        yield self.page("digests/index.html", "digests.html", digests=context.digests)
        for digest in context.digests:
            yield from self._digest_files(context, digest)

    def _digest_files(self, context: Context, digest: DigestView) -> Iterator[OutputFile]:
        folder = f"digests/{digest.id}/"
        inputs = [
            context.digest_keys[digest.id],
            *(context.card_keys[s] for s in digest.papers.slugs),
        ]
        yield from self._paginated(
            context,
            folder,
            digest.papers,
            [context.digest_keys[digest.id]],
            "digest.html",
            digest=digest,
        )
        yield self.keyed(
            folder + "papers.bib",
            [context.bib_keys[s] for s in digest.papers.slugs],
            lambda: _bib(digest.papers),
        )
        # Both e-mails are made together, and only if either is not kept.
        emails = functools.cache(functools.partial(self._emails, digest))
        yield self.keyed(folder + "email.html", inputs, lambda: emails()[0])
        yield self.keyed(folder + "email.txt", inputs, lambda: emails()[1])

    def _paginated(
        self,
        context: Context,
        folder: str,
        papers: ViewList,
        inputs: list[str],
        template: str,
        **values: Any,
    ) -> Iterator[OutputFile]:
        """A list of papers as pages of `per_page` (site.toml): folder, then folder/page/2/
        and on (a 10,000-paper digest on one page was 9 MB of HTML, rewritten on every
        edit). A page is kept while its inputs, its place and its papers' cards are."""
        per_page = self.config.per_page
        folders = self._list_folders(folder, len(papers))
        urls = [self.site.url(page) for page in folders]
        for index, page in enumerate(folders):
            pager = Pager(
                number=index + 1,
                count=len(folders),
                start=index * per_page + 1,
                previous_url=urls[index - 1] if index > 0 else None,
                next_url=urls[index + 1] if index + 1 < len(folders) else None,
            )
            shown = papers[index * per_page : (index + 1) * per_page]
            yield self.keyed(
                page + "index.html",
                [*inputs, repr(pager), *(context.card_keys[s] for s in shown.slugs)],
                functools.partial(
                    self._list_page, page + "index.html", template, pager, shown, values
                ),
            )

    def _list_folders(self, folder: str, papers: int) -> list[str]:
        """The folders of a list of papers split into pages (see list_page)."""
        count = max(1, -(-papers // self.config.per_page))
        return [list_page(folder, number) for number in range(1, count + 1)]

    def _list_page(
        self,
        path: str,
        template: str,
        pager: Pager,
        papers: Sequence[PaperView],
        values: dict[str, Any],
    ) -> bytes:
        return self.page(path, template, pager=pager, papers=papers, **values).content

    def _emails(self, digest: DigestView) -> tuple[bytes, bytes]:
        """The HTML and the plain-text e-mail of a digest."""
        html_mail, count = self._email(digest)
        mail: dict[str, object] = {
            "digest": digest,
            "papers": digest.papers[:count],
            "more": len(digest.papers) - count,
        }
        return html_mail, self.render_template("email.txt", mail).encode("utf-8")

    def _email(self, digest: DigestView) -> tuple[bytes, int]:
        """The e-mail with as many papers as fit under EMAIL_MAX_BYTES (mail clients clip
        longer messages); the rest are one link away. Returns it and how many it shows."""

        def render(count: int) -> bytes:
            context = {
                "digest": digest,
                "papers": digest.papers[:count],
                "more": len(digest.papers) - count,
            }
            return self.render_template("email.html", context).encode("utf-8")

        # No paper takes less than EMAIL_MIN_PAPER_BYTES, which bounds the search and
        # spares rendering a 10,000-paper e-mail only to find that it is too long.
        most = min(len(digest.papers), EMAIL_MAX_BYTES // EMAIL_MIN_PAPER_BYTES)
        whole = render(most)
        if len(whole) <= EMAIL_MAX_BYTES and most == len(digest.papers):
            return whole, most
        low, high = 0, most
        while low < high:  # the largest count that fits
            middle = (low + high + 1) // 2
            if len(render(middle)) <= EMAIL_MAX_BYTES:
                low = middle
            else:
                high = middle - 1
        return render(low), low

    def _site_pages(self, context: Context) -> Iterator[OutputFile]:
        latest = context.digests[0] if context.digests else None
        seen_before = {
            slug: context.first_seen[slug]
            for slug in (latest.papers.slugs if latest else ())
            if context.first_seen[slug].id != latest.id  # type: ignore[union-attr]
        }
        yield self.page(
            "index.html",
            "home.html",
            latest=latest,
            seen_before=seen_before,
            topics=list(context.topic_views.values()),
            paper_count=len(context.papers),
            home_papers=HOME_PAPERS,
            digest_count=len(context.digests),
        )
        lab_papers = [context.papers[slug] for slug in context.lab_papers]
        yield self.page(
            "lab/index.html", "lab.html", papers=lab_papers, members=self._member_counts(lab_papers)
        )
        yield self.page("404.html", "404.html")

    def _member_counts(self, papers: list[PaperView]) -> list[tuple[str, int]]:
        counts = {person_key(m): (m, 0) for m in self.config.lab_members}
        for paper in papers:
            for author in paper.authors:
                if author.member and (key := person_key(author.name)) in counts:
                    name, count = counts[key]
                    counts[key] = (name, count + 1)
        return list(counts.values())

    def _machine_files(self, context: Context) -> Iterator[OutputFile]:
        # library order: newest first
        newest = context.papers.listed(itertools.islice(context.papers, feeds.FEED_LENGTH))
        config = self.config
        yield self._feed(
            context, title=config.title, subtitle=config.description, path="", papers=newest
        )
        pages: list[tuple[str, str | None]] = [
            ("", None),
            ("topics/", None),
            ("digests/", None),
            ("search/", None),
            ("lab/", None),
        ]
        pages += [(f"papers/{p.slug}/", p.date) for p in context.library.papers]
        for topic in context.topic_views.values():
            pages += [
                (page, None) for page in self._list_folders(f"topics/{topic.slug}/", topic.count)
            ]
        for digest in context.digests:
            folders = self._list_folders(f"digests/{digest.id}/", len(digest.papers))
            pages += [(page, digest.date) for page in folders]
        yield OutputFile(
            "sitemap.xml", feeds.sitemap([(self.site.absolute(p), m) for p, m in pages])
        )
        yield OutputFile("robots.txt", feeds.robots(self.site.absolute("sitemap.xml")))
        # One line a paper, each made again only when its paper or related papers change.
        by_slug = context.library.by_slug
        lines = per_item(
            self.cache,
            "records",
            self.build_key,
            {
                p.slug: "\0".join((context.input_keys[p.slug], *context.related.get(p.slug, ())))
                for p in context.library.papers
            },
            lambda slugs: [
                feeds.papers_json_line(self._record(by_slug[s], context)) for s in slugs
            ],
        )
        yield OutputFile("papers.json", feeds.papers_json(list(lines.values())))

    def _feed(
        self, context: Context, *, title: str, subtitle: str, path: str, papers: ViewList
    ) -> OutputFile:
        """path/feed.xml: the first papers of the list, kept while their views are."""
        shown = papers[: feeds.FEED_LENGTH]
        return self.keyed(
            path + "feed.xml",
            [title, subtitle, path, *(context.view_keys[s] for s in shown.slugs)],
            lambda: self._atom(title=title, subtitle=subtitle, path=path, papers=shown),
        )

    def _atom(self, *, title: str, subtitle: str, path: str, papers: Sequence[PaperView]) -> bytes:
        entries = [
            feeds.FeedEntry(
                id=self.site.feed_id(f"papers/{p.slug}/"),
                title=p.title,
                url=p.absolute_url,
                date=p.date,
                summary=p.abstract_text,
                authors=tuple(a.name for a in p.authors),
                categories=tuple((t.slug, t.name) for t in p.topics),
            )
            for p in papers[: feeds.FEED_LENGTH]
        ]
        return feeds.atom_feed(
            title=title,
            subtitle=subtitle,
            feed_id=self.site.feed_id(path + "feed.xml"),
            self_url=self.site.absolute(path + "feed.xml"),
            page_url=self.site.absolute(path),
            language=self.config.language,
            entries=entries,
        )

    def _record(self, paper: Paper, context: Context) -> dict[str, object]:
        view = context.papers[paper.slug]
        return {
            "slug": paper.slug,
            "title": paper.title,
            "date": paper.date,
            "digests": list(paper.digests),
            "authors": list(paper.authors),
            "arxiv": paper.arxiv,
            "links": dict(paper.links),
            "topics": [t.slug for t in view.topics],
            "url": view.absolute_url,
            "abstract": view.abstract_text,
            "related": list(context.related.get(paper.slug, ())),
            "bibtex_key": view.cite_key,
        }

    def _scholarly_article(self, paper: PaperView) -> dict[str, object]:
        data: dict[str, object] = {
            "@context": "https://schema.org",
            "@type": "ScholarlyArticle",
            "headline": paper.title[:110],
            "name": paper.title,
            "abstract": paper.abstract_text,
            "datePublished": paper.date,
            "url": paper.absolute_url,
            "author": [{"@type": "Person", "name": a.name} for a in paper.authors],
            "keywords": [t.name for t in paper.topics],
        }
        if paper.arxiv:
            data["identifier"] = f"arXiv:{paper.arxiv}"
            data["sameAs"] = f"https://arxiv.org/abs/{paper.arxiv}"
        return data

    def _assets(self) -> Iterator[OutputFile]:
        folder = self.templates_dir / "assets"
        if not folder.is_dir():
            return
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                yield OutputFile(f"assets/{path.relative_to(folder).as_posix()}", path.read_bytes())

    # ---- templates ---------------------------------------------------------------------

    def card(
        self,
        paper: PaperView,
        heading: str = "h3",
        seen: DigestView | None = None,
        new: bool = False,
    ) -> Markup:
        """A paper's card, rendered once per variant: a paper is listed on its topics,
        its digests and five papers' related lists, and the card is the same on each."""
        key = _card_key(paper.slug, heading, seen.id if seen else None, new)
        if key not in self._cards:
            context = {"paper": paper, "heading": heading, "seen": seen, "new": new}
            self._cards[key] = Markup(self.render_template("_card.html", context))
        return self._cards[key]

    def cards(self, papers: Sequence[PaperView], heading: str = "h3") -> Markup:
        """The cards of a list of papers, each in a list item: a list page shows a hundred
        cards, and a card called from the template's own loop cost more than the card
        (Jinja wraps every call; a listed view was unpickled even when its card was made).
        """
        views: Mapping[str, PaperView]
        if isinstance(papers, ViewList):
            views, slugs = papers.views, papers.slugs
        else:
            views, slugs = {p.slug: p for p in papers}, tuple(p.slug for p in papers)
        made = self._cards
        items = []
        for slug in slugs:
            shown = made.get(_card_key(slug, heading)) or self.card(views[slug], heading)
            items.append(f"<li>{shown}</li>\n")
        return Markup("".join(items))

    def key_of(self, inputs: Iterable[str]) -> str:
        """A file's key: its inputs, and the templates, settings and labdigest."""
        return _digest("\0".join((self.build_key, *inputs)))

    def keyed(self, out_path: str, inputs: Iterable[str], make: Callable[[], bytes]) -> OutputFile:
        """The file at out_path made by make(), unless the output already holds it as made
        from the same inputs (and the same templates, settings and labdigest)."""
        return self.keyed_by(out_path, self.key_of(inputs), make)

    def keyed_by(self, out_path: str, key: str, make: Callable[[], bytes]) -> OutputFile:
        if self.reuse(out_path, key):
            return OutputFile(out_path, b"", key=key, reused=True)
        return OutputFile(out_path, make(), key=key)

    def page(self, out_path: str, template_name: str, **context: Any) -> OutputFile:
        path = "" if out_path == "404.html" else out_path.removesuffix("index.html")
        context.setdefault("page_url", self.site.url(path))
        context.setdefault("canonical_url", self.site.absolute(path))
        context.setdefault("description", self.config.description)
        context.setdefault("og_type", "website")
        context.setdefault("feeds", [])
        context.setdefault("json_ld", None)
        return OutputFile(out_path, self.render_template(template_name, context).encode("utf-8"))

    def render_template(self, name: str, context: dict[str, Any]) -> str:
        try:
            return _rendered(self.env, self.env.get_template(name), context)
        except jinja2.TemplateSyntaxError as error:
            raise TemplateError(
                error.message or "syntax error",
                error.filename or str(self.templates_dir / name),
                error.lineno,
            ) from None
        except jinja2.TemplateNotFound as error:
            raise TemplateError(f"template not found: {error.name}", self.templates_dir) from None
        except jinja2.TemplateError as error:
            path, line = _template_position(sys.exc_info()[2], self.templates_dir, name)
            raise TemplateError(error.message or str(error), path, line) from None

    # ---- view models -------------------------------------------------------------------

    def _topic_view(self, topic: Topic, topics: TopicIndex) -> TopicView:
        folder = f"topics/{topic.slug}/"
        return TopicView(
            slug=topic.slug,
            name=topic.name,
            description=topic.description,
            url=self.site.topic_url(topic.slug),
            search_url=self.site.url("search/") + "?topic=" + quote_plus(topic.name),
            feed_url=self.site.url(folder + "feed.xml"),
            bib_url=self.site.url(folder + "papers.bib"),
            count=len(topics.papers_in[topic.slug]),
        )

    def _paper_view(
        self,
        paper: Paper,
        topics: TopicIndex,
        views: dict[str, TopicView],
        digest_names: dict[str, str],
        key: str,
        abstract_html: str,
    ) -> PaperView:
        absolute_url = self.site.absolute(f"papers/{paper.slug}/")
        abstract_text = plain_text(abstract_html)
        return PaperView(
            slug=paper.slug,
            title=paper.title,
            url=self.site.paper_url(paper.slug),
            absolute_url=absolute_url,
            date=paper.date,
            date_text=format_date(paper.date),
            year=paper.date[:4],
            authors=tuple(AuthorView(a, person_key(a) in self.members) for a in paper.authors),
            arxiv=paper.arxiv,
            links=paper_links(paper),
            topics=tuple(
                TopicTag(views[slug].slug, views[slug].name, views[slug].url)
                for slug in topics.of_paper[paper.slug]
            ),
            phrases=tuple(Link(p, self.site.search_url(p)) for p in topics.phrases_of[paper.slug]),
            digests=tuple(
                Link(digest_names[d], self.site.digest_url(d))
                for d in paper.digests
                if d in digest_names  # a digest whose manifest is gone has no page to link
            ),
            abstract_html=Markup(abstract_html),  # markdown-it output, raw HTML off
            abstract_text=abstract_text,
            teaser=teaser(abstract_text),
            details=details(paper),
            withdrawn=str(dict(paper.extra).get("withdrawn") or "") or None,
            notes_html=Markup(markup.render(paper.notes)) if paper.notes else None,
            cite_key=key,
            bibtex=cite.bibtex(paper, key, absolute_url),
            bib_url=self.site.url(f"papers/{paper.slug}/cite.bib"),
        )

    def _digest_view(self, digest: Digest, papers: Views) -> DigestView:
        folder = f"digests/{digest.id}/"
        return DigestView(
            id=digest.id,
            date=digest.date,
            date_text=format_date(digest.date),
            url=self.site.digest_url(digest.id),
            source=digest.source,
            papers=papers.listed(e.slug for e in digest.papers),
            bib_url=self.site.url(folder + "papers.bib"),
            email_url=self.site.url(folder + "email.html"),
            text_url=self.site.url(folder + "email.txt"),
        )


CardKey = tuple[str, str, str | None, bool]


def _card_key(slug: str, heading: str, seen: str | None = None, new: bool = False) -> CardKey:
    """A card variant: the paper, its heading level, the digest it was seen in, new."""
    return (slug, heading, seen, new)


def _card_fields(view: PaperView) -> tuple[object, ...]:
    """What a paper's card (and its entry in an e-mail) shows of it."""
    return (
        view.slug,
        view.title,
        view.url,
        view.absolute_url,
        view.date,
        view.date_text,
        view.authors,
        view.topics,
        view.teaser,
        view.withdrawn,
    )


def _value_key(value: object) -> str:
    """A digest of a value: equal digests mean equal values (equal values may give other
    bytes when their objects are shared differently, which only costs a re-render)."""
    return _digest_bytes(pickle.dumps(value, protocol=5))


def _digest(text: str) -> str:
    return _digest_bytes(text.encode("utf-8"))


def _digest_bytes(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def _build_key(config: SiteConfig, templates_dir: Path) -> str:
    """What every page depends on: settings, templates and labdigest's own code. Not the
    name the settings file was given (site.toml, or its absolute path from `serve` or an
    editor's task): a build that named it otherwise threw the whole cache away."""
    settings = dataclasses.replace(config, path=Path())
    parts = [repr(settings), repr(fingerprint.code_state())]
    for path in sorted(templates_dir.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            if path.suffix in TEMPLATE_SUFFIXES:
                _check_utf8(data, path)
            parts += [path.relative_to(templates_dir).as_posix(), hashlib.sha1(data).hexdigest()]
    return _digest("\0".join(parts))


def _check_utf8(data: bytes, path: Path) -> None:
    """A template Jinja cannot read is an error naming it (Jinja's own is a traceback)."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise TemplateError(f"not UTF-8 text ({error.reason})", path, line) from None


def _template_cache(cache: Cache | None) -> jinja2.BytecodeCache | None:
    if cache is None:
        return None
    try:
        # Jinja keys compiled templates by their source, not by the environment's
        # settings: a folder per labdigest version keeps a new version from old code.
        folder = cache.folder_for("templates")
    except OSError:  # a cache is an optimization: without one, templates compile again
        return None
    return jinja2.FileSystemBytecodeCache(str(folder))


def _bib(papers: Sequence[PaperView]) -> bytes:
    return "\n".join(p.bibtex for p in sorted(papers, key=lambda p: p.cite_key)).encode("utf-8")


def _rendered(env: jinja2.Environment, template: jinja2.Template, values: dict[str, Any]) -> str:
    """template.render(values), but for its copy of the globals into every context (through
    a ChainMap, twice): a third of the time of a paper's card, rendered 20,000 times on a
    large site. Jinja's low-level API, as Jinja renders an included template; the globals
    are the environment's (no template is given globals of its own)."""
    context = template.new_context({**env.globals, **values}, shared=True)
    try:
        return env.concat(template.root_render_func(context))
    except Exception:
        env.handle_exception()  # raises it again with the template's own line numbers


def _template_position(traceback: Any, templates_dir: Path, name: str) -> tuple[str, int | None]:
    """The innermost template frame of a rendering error: Jinja maps its line numbers."""
    found: tuple[str, int | None] = (str(templates_dir / name), None)
    root = str(templates_dir.resolve())
    while traceback is not None:
        filename = traceback.tb_frame.f_code.co_filename
        if filename.startswith(root) or filename.startswith(str(templates_dir)):
            found = (filename, traceback.tb_lineno)
        traceback = traceback.tb_next
    return found

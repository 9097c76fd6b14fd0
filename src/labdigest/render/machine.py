"""The files made for other programs: Atom feeds, BibTeX collections, the e-mails, the
sitemap, robots.txt, papers.json, and the site's assets. A feed, a .bib or an e-mail is
keyed by the views it shows, papers.json by every view and related list, a sitemap by
its addresses and dates; the others are compared by their bytes when written."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from json.encoder import encode_basestring
from pathlib import Path

from labdigest import feeds
from labdigest.cache import Cache, Shelf, by_date, per_item_apart
from labdigest.models import KeptFile, OutputFile, WrittenFile
from labdigest.output.files import Entry, write_new_parts
from labdigest.output.stage import Stage
from labdigest.parallel import Later, Pool
from labdigest.related import Links
from labdigest.render.context import Context
from labdigest.render.environment import Renderer
from labdigest.render.lists import list_folders, topic_folders
from labdigest.render.mail import emails
from labdigest.views import DigestView, PaperView, ViewList

File = OutputFile | KeptFile | WrittenFile


class MachineFiles:
    def __init__(self, renderer: Renderer, context: Context, stage: Stage):
        self.renderer, self.context, self.stage = renderer, context, stage
        self.site = renderer.site

    def key(self, path: str, inputs: Iterable[str]) -> str:
        """The digest of the environment's key, the path and the inputs, joined by NULs:
        taken an input at a time (a large file's inputs are 100 MB at 100,000 papers)."""
        digest = hashlib.sha1(f"{self.renderer.build_key}\0{path}".encode())
        for part in inputs:
            digest.update(f"\0{part}".encode())
        return digest.hexdigest()

    def keyed(self, path: str, inputs: Sequence[str], make: Callable[[], bytes]) -> File:
        key = self.key(path, inputs)
        return KeptFile(path) if self.stage.holds(path, key) else OutputFile(path, make(), key)

    def written(
        self, path: str, inputs: Iterable[str], parts: Callable[[], Iterable[bytes]]
    ) -> KeptFile | WrittenFile:
        """keyed() for a large file: kept, or written into the stage in parts as they are
        made (a topic's .bib, the sitemap, papers.json: 150, 15 and 220 MB at 100,000
        papers, never whole in memory)."""
        key, stage = self.key(path, inputs), self.stage
        if stage.holds(path, key):
            return KeptFile(path)
        return WrittenFile(path, write_new_parts(str(stage.path), path, parts(), key, stage.flat))

    def all(self, cache: Cache | None) -> Iterator[File]:
        context, config = self.context, self.renderer.config
        newest = context.papers.listed(itertools.islice(context.papers, feeds.FEED_LENGTH))
        yield self.feed(config.title, config.description, "", newest)
        for topic in context.topics.topics:
            members = context.papers.listed(context.topics.papers_in[topic.slug])
            title = f"{config.title}: {topic.name}"
            yield self.feed(title, topic.description, f"topics/{topic.slug}/", members)
            yield self.bib(f"topics/{topic.slug}/papers.bib", members)
        for digest in context.digests:
            folder, papers = f"digests/{digest.id}/", context.digest_papers[digest.id]
            yield self.bib(folder + "papers.bib", papers)
            inputs = [self.views_key(papers), repr(digest)]
            made = emails_once(self.renderer, digest, papers)
            yield self.keyed(folder + "email.html", inputs, functools.partial(_part, made, 0))
            yield self.keyed(folder + "email.txt", inputs, functools.partial(_part, made, 1))
        yield from self.sitemaps()
        yield OutputFile("robots.txt", feeds.robots(self.site.absolute("sitemap.xml")))
        yield from assets(self.renderer.templates_dir)

    def _bib(self, slugs: Sequence[str]) -> Iterator[bytes]:
        cite_key, bibtex = self.context.library.citation_keys, self.context.bibtex
        for number, slug in enumerate(sorted(slugs, key=cite_key.__getitem__)):
            yield (bibtex[slug] if not number else "\n" + bibtex[slug]).encode()

    def views_key(self, papers: ViewList) -> str:
        return ",".join(self.context.view_keys[slug] for slug in papers.slugs)

    def bib(self, path: str, papers: ViewList) -> File:
        """A .bib of a list of papers: made of their BibTeX alone."""
        inputs = (self.context.bib_keys[slug] for slug in papers.slugs)
        return self.written(path, inputs, lambda: self._bib(papers.slugs))

    def feed(self, title: str, subtitle: str, path: str, papers: ViewList) -> File:
        """path/feed.xml: the first papers of the list."""
        shown = papers[: feeds.FEED_LENGTH]
        return self.keyed(
            path + "feed.xml",
            [title, subtitle, self.views_key(shown)],
            lambda: self.atom(title, subtitle, path, shown),
        )

    def atom(self, title: str, subtitle: str, path: str, papers: Sequence[PaperView]) -> bytes:
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
            for p in papers
        ]
        return feeds.atom_feed(
            title=title,
            subtitle=subtitle,
            feed_id=self.site.feed_id(path + "feed.xml"),
            self_url=self.site.absolute(path + "feed.xml"),
            page_url=self.site.absolute(path),
            language=self.renderer.config.language,
            entries=entries,
        )

    def sitemaps(self) -> Iterator[File]:
        """sitemap.xml: every page's address (and date, where it has one), written in parts,
        kept whole when none changed. A site of more pages than one sitemap may list
        (feeds.SITEMAP_URLS) gets sitemap-1.xml, sitemap-2.xml, … of that many each, which
        sitemap.xml lists (an index); they stay in the root, as a sitemap may only list
        addresses below its own folder."""
        count, most = sum(1 for _ in self._sitemap_pages()), feeds.SITEMAP_URLS
        if count <= most:
            yield self._sitemap("sitemap.xml", 0, count)
            return
        names = [f"sitemap-{number}.xml" for number in range(1, -(-count // most) + 1)]
        for number, name in enumerate(names):
            yield self._sitemap(name, number * most, (number + 1) * most)
        index = feeds.sitemap_index(self.site.absolute(name) for name in names)
        yield OutputFile("sitemap.xml", index)

    def _sitemap(self, path: str, start: int, stop: int) -> KeptFile | WrittenFile:
        """A sitemap of these pages (by their place in _sitemap_pages)."""

        def pages() -> Iterator[tuple[str, str | None]]:
            for page, modified in itertools.islice(self._sitemap_pages(), start, stop):
                yield self.site.absolute(page), modified

        inputs = (f"{url} {modified}" for url, modified in pages())
        return self.written(path, inputs, lambda: feeds.sitemap(pages()))

    def _sitemap_pages(self) -> Iterator[tuple[str, str | None]]:
        """Every page of the site (its folder) and its date, where it has one."""
        context, per_page = self.context, self.renderer.config.per_page
        for page in ("", "topics/", "digests/", "search/", "lab/"):
            yield page, None
        for paper in context.library.papers:
            yield f"papers/{paper.slug}/", paper.date
        for topic in context.topic_views.values():
            for page in topic_folders(f"topics/{topic.slug}/", topic.count, per_page):
                yield page, None
        for digest in context.digests:
            for page in list_folders(f"digests/{digest.id}/", digest.count, per_page):
                yield page, digest.date

    @contextlib.contextmanager
    def papers_json(
        self, cache: Cache | None, related: Links, pool: Pool
    ) -> Iterator[Later[KeptFile | WrittenFile]]:
        """One line a paper, written into the stage line by line (by a worker, on a large
        site, while the block runs): the line kept for its view, its related papers set
        in (a new digest enters hundreds of related lists; their lines stay as they
        were). Kept whole when no view or related list changed."""
        view_keys = {p.slug: self.context.view_keys[p.slug] for p in self.context.library.papers}
        inputs = (f"{slug}\0{view}\0{related.get(slug, ())}" for slug, view in view_keys.items())
        key, stage = self.key("papers.json", inputs), self.stage
        if stage.holds("papers.json", key):
            yield Later(lambda: KeptFile("papers.json"))
            return
        places, lines = per_item_apart(
            cache,
            "records",
            self.renderer.build_key,
            view_keys,
            lambda slugs: [self.line(slug) for slug in slugs],
            group=by_date(self.context.library.papers),
        )
        rows = [(slug, places[slug], related.get(slug, ())) for slug in view_keys]
        job = (str(stage.path), stage.flat, key, lines, rows)
        with pool.beside(len(rows), write_papers_json, *job) as written:
            yield Later(lambda: WrittenFile("papers.json", written()), written.ready)

    def line(self, slug: str) -> tuple[int, bytes]:
        """A paper's line of papers.json without its related papers, and where they go."""
        line = feeds.papers_json_line(self.record(slug))
        at = line.rindex(NO_RELATED) + len(NO_RELATED) - 2  # (top level: after "links")
        return at, line[:at] + line[at + 2 :]

    def record(self, slug: str) -> dict[str, object]:
        paper, view = self.context.library.by_slug[slug], self.context.papers[slug]
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
            "related": [],
            "bibtex_key": view.cite_key,
        }


NO_RELATED = b'"related": []'  # (a quote inside a string is escaped: only the key reads so)


def write_papers_json(
    stage: str, flat: bool, key: str, lines: Shelf, rows: list[tuple[str, int, tuple[str, ...]]]
) -> Entry:
    """papers.json written into the stage from its lines (MachineFiles.line) and each
    paper's related papers, set in at their place (rows: slug, place, related)."""

    def lines_with_related() -> Iterator[bytes]:
        slugs = (slug for slug, _, _ in rows)
        for (_, at, related), line in zip(rows, lines.each(slugs), strict=True):
            # (as json.dumps(list, ensure_ascii=False) writes it; dumps itself took a
            # third of this at 100,000 papers)
            listed = "[" + ", ".join(map(encode_basestring, related)) + "]"
            yield line[:at] + listed.encode() + line[at:]

    return write_new_parts(stage, "papers.json", feeds.papers_json(lines_with_related()), key, flat)


def emails_once(
    renderer: Renderer, digest: DigestView, papers: ViewList
) -> Callable[[], tuple[bytes, bytes]]:
    """Both e-mails of a digest, made together the first time either is asked for."""
    return functools.cache(lambda: emails(renderer, digest, papers))


def _part(made: Callable[[], tuple[bytes, bytes]], which: int) -> bytes:
    return made()[which]


def assets(templates: Path) -> Iterator[OutputFile]:
    folder = templates / "assets"
    if folder.is_dir():
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                yield OutputFile(f"assets/{path.relative_to(folder).as_posix()}", path.read_bytes())

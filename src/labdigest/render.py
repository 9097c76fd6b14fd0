"""Library → pages. The Jinja environment, one view-model per page kind, and nothing
else: this module returns OutputFiles and never touches the output folder."""

from __future__ import annotations

import html
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import jinja2
from markupsafe import Markup

from labdigest import markup
from labdigest.errors import TemplateError
from labdigest.models import Digest, Library, OutputFile, Paper, SiteConfig, Topic
from labdigest.topics import TopicIndex

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
LINK_LABELS = {"code": "Code", "project": "Project page", "pdf": "PDF", "other": "Link"}
TEASER_LENGTH = 260
_TAG_RE = re.compile(r"<[^>]+>")


# ---- view models: what templates see ------------------------------------------------


@dataclass(frozen=True, slots=True)
class Link:
    text: str
    url: str


@dataclass(frozen=True, slots=True)
class Detail:
    label: str
    text: str
    url: str | None = None


# Front-matter fields that readers fill from arXiv and HF metadata, shown as facts.
DETAIL_LABELS = {
    "categories": "Categories",
    "comments": "Comments",
    "journal_ref": "Journal reference",
    "doi": "DOI",
    "published": "First published",
    "updated": "Updated",
    "upvotes": "Upvotes on Hugging Face",
}


@dataclass(frozen=True, slots=True)
class TopicView:
    slug: str
    name: str
    description: str
    url: str
    search_url: str
    count: int


@dataclass(frozen=True, slots=True)
class PaperView:
    slug: str
    title: str
    url: str
    date: str
    date_text: str
    year: str
    authors: tuple[str, ...]
    arxiv: str | None
    links: tuple[Link, ...]  # arXiv abs / PDF / HTML first, then the paper's own links
    topics: tuple[TopicView, ...]
    phrases: tuple[Link, ...]  # key phrases, each a link into search
    digests: tuple[Link, ...]
    abstract_html: Markup
    teaser: str
    details: tuple[Detail, ...] = ()
    withdrawn: str | None = None  # the date it was withdrawn


@dataclass(frozen=True, slots=True)
class DigestNav:
    digest: Link
    position: int
    total: int
    previous: Link | None
    next: Link | None


@dataclass(frozen=True, slots=True)
class DigestView:
    id: str
    date: str
    date_text: str
    url: str
    source: str
    papers: tuple[PaperView, ...]


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
    return cut.rstrip(",;:") + "…"


class Site:
    """URLs of the site, honouring base_url in every internal link."""

    def __init__(self, config: SiteConfig):
        self.config = config
        self.base = config.base_path

    def url(self, path: str = "") -> str:
        return self.base + path.lstrip("/")

    def search_url(self, query: str) -> str:
        return self.url("search/") + "?q=" + quote_plus(query)

    def paper_url(self, slug: str) -> str:
        return self.url(f"papers/{slug}/")

    def topic_url(self, slug: str) -> str:
        return self.url(f"topics/{slug}/")

    def digest_url(self, digest_id: str) -> str:
        return self.url(f"digests/{digest_id}/")


# ---- the renderer --------------------------------------------------------------------


class Renderer:
    def __init__(self, config: SiteConfig, templates_dir: Path):
        self.config = config
        self.templates_dir = templates_dir
        self.site = Site(config)
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(templates_dir),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        self.env.globals.update(site=self.site, config=config)

    def render_site(self, library: Library, topics: TopicIndex) -> list[OutputFile]:
        topic_views = {t.slug: self._topic_view(t, topics) for t in topics.topics}
        digest_names = {d.id: f"Digest of {format_date(d.date)}" for d in library.digests}
        papers = {
            p.slug: self._paper_view(p, topics, topic_views, digest_names) for p in library.papers
        }
        digests = [self._digest_view(d, papers) for d in library.digests]
        files: list[OutputFile] = []
        files.extend(self._paper_pages(library, papers, digests))
        files.extend(self._topic_pages(topics, topic_views, papers))
        files.extend(self._digest_pages(digests))
        files.append(
            self.page(
                "index.html",
                "home.html",
                latest=digests[0] if digests else None,
                topics=list(topic_views.values()),
                paper_count=len(papers),
                digest_count=len(digests),
            )
        )
        files.append(
            self.page("search/index.html", "search.html", topics=list(topic_views.values()))
        )
        files.append(self.page("404.html", "404.html"))
        files.extend(self._assets())
        return files

    # -- pages

    def _paper_pages(
        self, library: Library, papers: dict[str, PaperView], digests: list[DigestView]
    ) -> Iterator[OutputFile]:
        navs: dict[str, list[DigestNav]] = {slug: [] for slug in papers}
        for digest in sorted(digests, key=lambda d: (d.date, d.id)):
            for position, paper in enumerate(digest.papers):
                navs[paper.slug].append(_nav(digest, position))
        for slug, view in papers.items():
            yield self.page(f"papers/{slug}/index.html", "paper.html", paper=view, navs=navs[slug])

    def _topic_pages(
        self, topics: TopicIndex, views: dict[str, TopicView], papers: dict[str, PaperView]
    ) -> Iterator[OutputFile]:
        yield self.page("topics/index.html", "topics.html", topics=list(views.values()))
        for topic in topics.topics:
            members = [papers[slug] for slug in topics.papers_in[topic.slug]]
            yield self.page(
                f"topics/{topic.slug}/index.html",
                "topic.html",
                topic=views[topic.slug],
                papers=members,
            )

    def _digest_pages(self, digests: list[DigestView]) -> Iterator[OutputFile]:
        yield self.page("digests/index.html", "digests.html", digests=digests)
        for digest in digests:
            yield self.page(f"digests/{digest.id}/index.html", "digest.html", digest=digest)

    def _assets(self) -> Iterator[OutputFile]:
        folder = self.templates_dir / "assets"
        if not folder.is_dir():
            return
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                yield OutputFile(f"assets/{path.relative_to(folder).as_posix()}", path.read_bytes())

    def page(self, out_path: str, template_name: str, **context: Any) -> OutputFile:
        depth_path = "" if out_path == "404.html" else out_path.removesuffix("index.html")
        context.setdefault("page_url", self.site.url(depth_path))
        return OutputFile(out_path, self.render_template(template_name, context).encode("utf-8"))

    def render_template(self, name: str, context: dict[str, Any]) -> str:
        try:
            return self.env.get_template(name).render(context)
        except jinja2.TemplateSyntaxError as error:
            raise TemplateError(
                error.message or "syntax error",
                self._template_path(error.filename, name),
                error.lineno,
            ) from None
        except jinja2.TemplateNotFound as error:
            raise TemplateError(f"template not found: {error.name}", self.templates_dir) from None
        except jinja2.TemplateError as error:
            path, line = _template_position(sys.exc_info()[2], self.templates_dir, name)
            raise TemplateError(error.message or str(error), path, line) from None

    def _template_path(self, filename: str | None, name: str) -> str:
        return filename or str(self.templates_dir / name)

    # -- view models

    def _topic_view(self, topic: Topic, topics: TopicIndex) -> TopicView:
        return TopicView(
            slug=topic.slug,
            name=topic.name,
            description=topic.description,
            url=self.site.topic_url(topic.slug),
            search_url=self.site.url("search/") + "?topic=" + quote_plus(topic.name),
            count=len(topics.papers_in[topic.slug]),
        )

    def _paper_view(
        self,
        paper: Paper,
        topics: TopicIndex,
        views: dict[str, TopicView],
        digest_names: dict[str, str],
    ) -> PaperView:
        abstract_html = markup.render(paper.body)
        return PaperView(
            slug=paper.slug,
            title=paper.title,
            url=self.site.paper_url(paper.slug),
            date=paper.date,
            date_text=format_date(paper.date),
            year=paper.date[:4],
            authors=paper.authors,
            arxiv=paper.arxiv,
            links=_paper_links(paper),
            topics=tuple(views[slug] for slug in topics.of_paper[paper.slug]),
            phrases=tuple(Link(p, self.site.search_url(p)) for p in topics.phrases_of[paper.slug]),
            digests=tuple(
                Link(digest_names.get(d, d), self.site.digest_url(d))
                for d in paper.digests
                if d in digest_names  # a digest whose manifest is gone has no page to link
            ),
            abstract_html=Markup(abstract_html),  # markdown-it output, raw HTML off
            teaser=teaser(plain_text(abstract_html)),
            details=_details(paper),
            withdrawn=str(dict(paper.extra).get("withdrawn") or "") or None,
        )

    def _digest_view(self, digest: Digest, papers: dict[str, PaperView]) -> DigestView:
        return DigestView(
            id=digest.id,
            date=digest.date,
            date_text=format_date(digest.date),
            url=self.site.digest_url(digest.id),
            source=digest.source,
            papers=tuple(papers[e.slug] for e in digest.papers),
        )


def _paper_links(paper: Paper) -> tuple[Link, ...]:
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


def _details(paper: Paper) -> tuple[Detail, ...]:
    extra = dict(paper.extra)
    details = []
    for key, label in DETAIL_LABELS.items():
        value = extra.get(key)
        if value is None or isinstance(value, (list, dict)) or value == "":
            continue
        text = str(value)
        url = f"https://doi.org/{text}" if key == "doi" and not text.startswith("http") else None
        details.append(Detail(label, text, url))
    return tuple(details)


def _nav(digest: DigestView, position: int) -> DigestNav:
    def link(index: int) -> Link | None:
        if 0 <= index < len(digest.papers):
            return Link(digest.papers[index].title, digest.papers[index].url)
        return None

    return DigestNav(
        digest=Link(digest.date_text, digest.url),
        position=position + 1,
        total=len(digest.papers),
        previous=link(position - 1),
        next=link(position + 1),
    )


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

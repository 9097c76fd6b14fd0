"""Every paper's page and BibTeX file. Their keys are worked out here; only the pages
whose key changed are rendered, on every core when there are many, each worker writing
its pages into the staging folder itself (their bytes need not travel back)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labdigest import parallel
from labdigest.models import KeptFile, SiteConfig, WrittenFile
from labdigest.output.files import write_new
from labdigest.progress import Progress
from labdigest.related import Links
from labdigest.render.context import Context
from labdigest.render.environment import Renderer, text_digest
from labdigest.views import DigestNav, Link, PaperView, Views, digest_nav, json_ld

Reuse = Callable[[str, str], bool]  # Stage.holds: the live site holds path as made from key


@dataclass(frozen=True, slots=True)
class PageWork:
    """What a worker needs to render paper pages (sent once to each)."""

    config: SiteConfig
    templates: Path
    code_folder: Path | None
    views: dict[str, bytes]  # every paper's view, pickled
    cards: dict[str, tuple[str, str]]  # every paper's cards (see context.MadeView)
    related: dict[str, tuple[str, ...]]
    navs: dict[str, tuple[DigestNav, ...]]
    stage: str  # the staging folder


@dataclass(frozen=True, slots=True)
class PaperTask:
    slug: str
    page_key: str
    bib_key: str


def paper_files(
    renderer: Renderer,
    context: Context,
    work: PageWork,
    reuse: Reuse,
    progress: Progress,
) -> list[KeptFile | WrittenFile]:
    """Every paper's page and BibTeX, kept or rendered and written."""
    files: list[KeptFile | WrittenFile] = []
    tasks = []
    for slug in context.papers:
        page_path, bib_path = paths(slug)
        page_key = renderer.key_of(
            "paper.html", own_inputs(context.papers, work, slug), context.view_keys
        )
        bib_key = text_digest(renderer.build_key + "bib" + context.bib_keys[slug])
        if reuse(page_path, page_key) and reuse(bib_path, bib_key):
            files += [KeptFile(page_path), KeptFile(bib_path)]
        else:
            tasks.append(PaperTask(slug, page_key, bib_key))
    written = parallel.process_map(
        render_paper,
        tasks,
        initializer=start_page_worker,
        initargs=(work,),
        on_progress=lambda done, total: progress.advance("render", done, total),
    )
    for pair in written:
        files += pair
    return files


def page_work(
    renderer: Renderer, context: Context, related: Links, code_folder: Path | None, stage: str
) -> PageWork:
    places: dict[str, list[DigestNav]] = {slug: [] for slug in context.papers}
    per_page, site, by_slug = renderer.config.per_page, renderer.site, context.library.by_slug
    for digest in sorted(context.digests, key=lambda d: (d.date, d.id)):
        slugs = context.digest_papers[digest.id].slugs
        links = [Link(by_slug[slug].title, site.paper_url(slug)) for slug in slugs]
        for position, slug in enumerate(slugs):
            places[slug].append(digest_nav(digest, links, position, per_page))
    return PageWork(
        config=renderer.config,
        templates=renderer.templates_dir,
        code_folder=code_folder,
        views=context.papers.stored(),
        cards=context.cards,
        related=related,
        navs={slug: tuple(navs) for slug, navs in places.items()},
        stage=stage,
    )


def paths(slug: str) -> tuple[str, str]:
    return f"papers/{slug}/index.html", f"papers/{slug}/cite.bib"


def own_inputs(views: Views, work: PageWork, slug: str) -> dict[str, Any]:
    """What paper.html is given of its own (the page's key is made from these): the
    paper, its place in each digest, its related papers."""
    return {
        "paper": views.listed((slug,)),
        "navs": list(work.navs[slug]),
        "related": views.listed(work.related.get(slug, ())),
    }


def page_inputs(views: Views, work: PageWork, slug: str) -> dict[str, Any]:
    """Everything paper.html is given: its own inputs, and what code makes of them."""
    own = own_inputs(views, work, slug)
    view = views[slug]
    return {
        **own,
        "paper": view,
        "description": view.teaser,
        "og_type": "article",
        "json_ld": json_ld(scholarly_article(view)),
    }


_worker: list[tuple[PageWork, Renderer, Views]] = []  # set by start_page_worker


def start_page_worker(work: PageWork) -> None:
    renderer = Renderer(work.config, work.templates, work.code_folder)
    for slug, cards in work.cards.items():
        renderer.know_cards(slug, cards)
    _worker[:] = [(work, renderer, Views(work.views))]


def render_paper(task: PaperTask) -> tuple[WrittenFile, WrittenFile]:
    work, renderer, views = _worker[0]
    page_path, bib_path = paths(task.slug)
    page = renderer.render_page(page_path, "paper.html", page_inputs(views, work, task.slug))
    bib = views[task.slug].bibtex.encode("utf-8")
    return (
        WrittenFile(page_path, write_new(work.stage, page_path, page, task.page_key)),
        WrittenFile(bib_path, write_new(work.stage, bib_path, bib, task.bib_key)),
    )


def scholarly_article(paper: PaperView) -> dict[str, object]:
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

"""Every paper's page and BibTeX file. Their keys are worked out here; only the pages
whose key changed are rendered, on every core when there are many, each worker writing
its pages into the staging folder itself (their bytes need not travel back)."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from labdigest import parallel
from labdigest.models import KeptFile, WrittenFile
from labdigest.output.files import write_new
from labdigest.output.stage import Stage
from labdigest.progress import Progress
from labdigest.related import Links
from labdigest.render.context import Context
from labdigest.render.environment import Renderer, RendererSpec, renderer_for, text_digest
from labdigest.views import DigestNav, Link, PaperView, Views, digest_nav, json_ld

Reuse = Callable[[str, str], bool]  # Stage.holds: the live site holds path as made from key


@dataclass(frozen=True, slots=True)
class PageCommon:
    """What every task of a build's paper pages shares (sent with each chunk)."""

    renderer: RendererSpec
    stage: str  # the staging folder
    flat: bool  # its files under names of their own (Stage.flat)


@dataclass(frozen=True, slots=True)
class PaperTask:
    """One paper's page and BibTeX to render, with all it needs."""

    slug: str
    page_key: str
    bib_key: str
    navs: tuple[DigestNav, ...]
    related: tuple[str, ...]
    views: dict[str, bytes]  # its view, and those of related papers whose card is not given
    cards: dict[str, str]  # the related papers' cards (h3), as made with their views


@contextlib.contextmanager
def paper_files(
    renderer: Renderer,
    spec: RendererSpec,
    context: Context,
    related: Links,
    stage: Stage,
    pool: parallel.Pool,
    progress: Progress,
) -> Iterator[Callable[[], list[KeptFile | WrittenFile]]]:
    """Every paper's page and BibTeX, kept or rendered and written: rendered on the
    workers while the block runs; it calls the function it is given for the files."""
    kept, tasks = _kept_and_tasks(renderer, context, related, stage)
    with pool.meanwhile(
        functools.partial(render_paper, PageCommon(spec, str(stage.path), stage.flat)),
        tasks,
        lambda done, total: progress.advance("render", done, total),
    ) as written:
        yield lambda: kept + [file for pair in written() for file in pair]


def _kept_and_tasks(
    renderer: Renderer, context: Context, related: Links, stage: Stage
) -> tuple[list[KeptFile | WrittenFile], list[PaperTask]]:
    """The pages and BibTeX files kept as the live site has them, and the tasks of the
    others. (Every paper's place in its digests is held here only: 50 MB at 100,000
    papers, which the build would otherwise hold while it writes papers.json.)"""
    kept: list[KeptFile | WrittenFile] = []
    tasks = []
    navs = digest_navs(renderer, context)
    for slug in context.papers:
        page_path, bib_path = paths(slug)
        own = own_inputs(context.papers, slug, navs[slug], related.get(slug, ()))
        page_key = renderer.key_of("paper.html", own, context.view_keys)
        bib_key = text_digest(renderer.build_key + "bib" + context.bib_keys[slug])
        if stage.holds(page_path, page_key) and stage.holds(bib_path, bib_key):
            kept += [KeptFile(page_path), KeptFile(bib_path)]
        else:
            tasks.append(_task(renderer, context, slug, (page_key, bib_key), navs[slug], related))
    return kept, tasks


def _task(
    renderer: Renderer,
    context: Context,
    slug: str,
    keys: tuple[str, str],
    navs: tuple[DigestNav, ...],
    related: Links,
) -> PaperTask:
    others, kept = related.get(slug, ()), context.kept
    cards = {other: card for other in others if (card := renderer.made_card(other, "h3"))}
    views = {other: kept.stored(other) for other in (slug, *others) if other not in cards}
    return PaperTask(slug, *keys, navs, others, views, cards)


def digest_navs(renderer: Renderer, context: Context) -> dict[str, tuple[DigestNav, ...]]:
    """Each paper's place in each digest it is in (oldest digest first)."""
    places: dict[str, list[DigestNav]] = {slug: [] for slug in context.papers}
    per_page, site, by_slug = renderer.config.per_page, renderer.site, context.library.by_slug
    for digest in sorted(context.digests, key=lambda d: (d.date, d.id)):
        slugs = context.digest_papers[digest.id].slugs
        links = [Link(by_slug[slug].title, site.paper_url(slug)) for slug in slugs]
        for position, slug in enumerate(slugs):
            places[slug].append(digest_nav(digest, links, position, per_page))
    return {slug: tuple(navs) for slug, navs in places.items()}


def paths(slug: str) -> tuple[str, str]:
    return f"papers/{slug}/index.html", f"papers/{slug}/cite.bib"


def own_inputs(
    views: Views, slug: str, navs: tuple[DigestNav, ...], related: tuple[str, ...]
) -> dict[str, Any]:
    """What paper.html is given of its own (the page's key is made from these): the
    paper, its place in each digest, its related papers."""
    return {"paper": views.listed((slug,)), "navs": list(navs), "related": views.listed(related)}


def render_paper(common: PageCommon, task: PaperTask) -> tuple[WrittenFile, WrittenFile]:
    """Render one paper's page and BibTeX into the stage (on a worker, or here)."""
    renderer = renderer_for(common.renderer)
    for other, card in task.cards.items():
        renderer.know_card(other, "h3", card)
    views = Views([task.slug, *task.related], task.views.__getitem__)
    view = views[task.slug]
    values = {
        **own_inputs(views, task.slug, task.navs, task.related),
        "paper": view,
        "description": view.teaser,
        "og_type": "article",
        "json_ld": json_ld(scholarly_article(view)),
    }
    page_path, bib_path = paths(task.slug)
    page = renderer.render_page(page_path, "paper.html", values)
    bib = view.bibtex.encode("utf-8")
    return (
        WrittenFile(
            page_path, write_new(common.stage, page_path, page, task.page_key, common.flat)
        ),
        WrittenFile(bib_path, write_new(common.stage, bib_path, bib, task.bib_key, common.flat)),
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

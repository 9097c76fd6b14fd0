"""Library → site files. The context (views) is made once; paper pages are rendered on
every core, while this process renders the lists, feeds and machine files. A file whose
key is unchanged, and which the live site holds as the last build left it, is kept."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from labdigest import parallel, search
from labdigest.cache import Cache
from labdigest.models import KeptFile, Library, OutputFile, SiteConfig, WrittenFile
from labdigest.output.stage import Stage
from labdigest.progress import Progress
from labdigest.related import Links
from labdigest.render.context import code_folder, make_context
from labdigest.render.environment import Renderer, RendererSpec
from labdigest.render.lists import Lists
from labdigest.render.machine import MachineFiles
from labdigest.render.papers import paper_files
from labdigest.topics import TopicIndex

SiteFile = OutputFile | KeptFile | WrittenFile


@dataclass(frozen=True, slots=True)
class RenderedSite:
    files: list[SiteFile]
    # Each paper's search record (slug, record), by date (search.records_in_order).
    search_records: list[tuple[str, str]]


def render_site(
    config: SiteConfig,
    templates: Path,
    library: Library,
    topics: TopicIndex,
    related: Callable[[], Links],
    cache: Cache | None,
    stage: Stage,
    progress: Progress,
    pool: parallel.Pool,
    *,
    search_index: bool,
) -> RenderedSite:
    spec = RendererSpec(config, templates, code_folder(cache))
    renderer = Renderer(config, templates, spec.cache_folder)
    context = make_context(renderer, spec, library, topics, cache, pool)
    # The lists and feeds need no related papers: made while those may still be ranked.
    files: list[SiteFile] = []
    files += Lists(renderer, context, stage.holds).all(search_index)
    machine = MachineFiles(renderer, context, stage.holds)
    files += machine.all(cache)
    links = related()
    files.append(machine.papers_json(cache, links))
    pages = paper_files(renderer, spec, context, links, stage, pool, progress)
    dates = {paper.slug: paper.date for paper in library.papers}
    records = search.records_in_order(context.records, dates)
    return RenderedSite([*pages, *files], records)

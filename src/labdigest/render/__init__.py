"""Library → site files. The context (views) is made once, first (prepare); paper pages
are rendered on every core, while this process renders the lists, feeds and machine
files. A file whose key is unchanged, and which the live site holds as the last build
left it, is kept."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from labdigest import parallel, search
from labdigest.cache import Cache
from labdigest.models import KeptFile, Library, OutputFile, SiteConfig, WrittenFile
from labdigest.output.stage import Stage
from labdigest.progress import Progress
from labdigest.related import Links
from labdigest.render.context import Context, code_folder, make_context
from labdigest.render.environment import Renderer, RendererSpec
from labdigest.render.lists import Lists
from labdigest.render.machine import MachineFiles
from labdigest.render.papers import paper_files
from labdigest.topics import TopicIndex

SiteFile = OutputFile | KeptFile | WrittenFile


@dataclass(frozen=True, slots=True)
class Prepared:
    """What every page is rendered with: the template environment and the context."""

    renderer: Renderer
    spec: RendererSpec
    context: Context


def prepare(
    config: SiteConfig,
    templates: Path,
    library: Library,
    topics: TopicIndex,
    cache: Cache | None,
    pool: parallel.Pool,
) -> Prepared:
    """The template environment, and every paper's view (with its cards and search
    record), made or taken from the cache."""
    spec = RendererSpec(config, templates, code_folder(cache))
    renderer = Renderer(config, templates, spec.cache_folder)
    return Prepared(renderer, spec, make_context(renderer, spec, library, topics, cache, pool))


def search_records(prepared: Prepared) -> list[tuple[str, str]]:
    """Each paper (slug, the key of its search record), by date (search.records_in_order);
    prepared.context.kept.record(slug) reads the record."""
    context = prepared.context
    dates = {paper.slug: paper.date for paper in context.library.papers}
    return search.records_in_order(context.record_keys, dates)


def render_site(
    prepared: Prepared,
    related: parallel.Later[Links],
    cache: Cache | None,
    stage: Stage,
    progress: Progress,
    pool: parallel.Pool,
    *,
    search_index: bool,
) -> list[SiteFile]:
    renderer, context = prepared.renderer, prepared.context
    lists = Lists(renderer, context, stage.holds)
    machine = MachineFiles(renderer, context, stage)
    files: list[SiteFile] = []

    def the_rest() -> None:
        files.extend(lists.all(search_index))
        files.extend(machine.all(cache))

    # The lists and feeds need no related papers: they are made while the workers render
    # the paper pages, or first, while a worker still ranks the related papers.
    ranking = not related.ready()
    if ranking:
        the_rest()
    links = related()
    with (
        machine.papers_json(cache, links, pool) as papers_json,
        paper_files(renderer, prepared.spec, context, links, stage, pool, progress) as pages,
    ):
        if not ranking:
            the_rest()
        return [*pages(), *files, papers_json()]

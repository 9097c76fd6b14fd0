"""The stages of a build that has work to do, in the order they run, one timed line
each: config, content, topics, related papers, render, write, search. build.py imports
this module only once it knows the inputs changed (markdown-it, Jinja and YAML take a
fifth of a second to import)."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from labdigest import config as config_stage
from labdigest import content, parallel, related, search, topics
from labdigest.cache import Cache
from labdigest.config import normalize_base_url
from labdigest.errors import ConfigError, LabdigestError
from labdigest.models import UNSORTED_SLUG, KeptFile, Library, OutputFile, SiteConfig
from labdigest.output.lock import build_lock
from labdigest.output.stage import Stage, staged_output
from labdigest.progress import Progress
from labdigest.related import Links
from labdigest.render import SiteFile, prepare, render_site, search_records
from labdigest.report import BuildOptions, BuildReport, timed_stage
from labdigest.sources import Sources


def run(
    options: BuildOptions, out: Path, sources: Sources, report: BuildReport, progress: Progress
) -> None:
    """Build the site of these sources into `out` (its inputs changed since the last build).
    The build's worker processes (a large site's) serve every stage. One build at a time
    writes into a stage, which becomes `out` once the build is complete; the live site's
    folder is looked at (by a worker) meanwhile, to tell what a build must make again."""
    cache = Cache(options.root)
    with parallel.Pool() as pool, build_lock(out), staged_output(out, pool) as stage:
        with timed_stage(report, "config", progress, lambda: f"{options.config_path}"):
            config = _settings(options)

        with timed_stage(report, "content", progress, lambda: f"{report.papers} papers"):
            library = content.load(options.root / "content", config, cache, sources, pool)
            report.papers = len(library.papers)

        # A large site's related papers are ranked by a worker meanwhile; the stage's line
        # tells how long the build then waited for them.
        ranked = related.meanwhile(library.papers, cache=cache, keys=library.text_keys, pool=pool)

        with timed_stage(report, "topics", progress, lambda: f"{len(report.topics)} topics"):
            topic_index = topics.assign(library, config.topics, cache)
            report.topics = {t.slug: len(topic_index.papers_in[t.slug]) for t in topic_index.topics}
            report.warnings.extend(_warnings(report.topics, library))
        if options.strict and report.warnings:
            raise LabdigestError("--strict: " + "; ".join(report.warnings))

        def wait_for_links() -> Links:
            with timed_stage(report, "related", progress, lambda: f"{_count(found)} links"):
                found = ranked()
            return found

        links = parallel.Later(wait_for_links, ranked.ready)

        site = Site(options, config, cache, pool, stage)
        _site(site, library, topic_index, links, report, progress)


@dataclass(frozen=True, slots=True)
class Site:
    """What the last stages work with besides the content."""

    options: BuildOptions
    config: SiteConfig
    cache: Cache
    pool: parallel.Pool
    stage: Stage


def _site(
    site: Site,
    library: Library,
    topic_index: topics.TopicIndex,
    links: parallel.Later[Links],
    report: BuildReport,
    progress: Progress,
) -> None:
    """Render, write and index the site into the stage."""
    options, config, cache, stage = site.options, site.config, site.cache, site.stage
    # Pagefind refuses a site without pages to index: a new site, no digest yet.
    indexing = options.search and bool(library.papers)
    with _threads() as threads:
        with timed_stage(
            report, "render", progress, lambda: f"{report.pages} files, {report.kept} unchanged"
        ):
            templates = (options.root / "templates").absolute()
            prepared = prepare(config, templates, library, topic_index, cache, site.pool)
            # The search records are known before any page is made: Pagefind indexes
            # the shards meanwhile (the search line tells how long the build then waited).
            if indexing:
                records = search_records(prepared)
                record_of = prepared.context.kept.record
                indexed = _index_meanwhile(stage, records, record_of, config.language, threads)
            files = render_site(
                prepared, links, cache, stage, progress, site.pool, search_index=indexing
            )
            report.pages = len(files)
            report.kept = sum(isinstance(file, KeptFile) for file in files)

        with timed_stage(
            report, "write", progress, lambda: f"{report.files} files, {len(stage.written)} written"
        ):
            _write(stage, files, progress)
            report.files, report.written = len(stage.manifest.files), len(stage.written)

        if indexing:
            with timed_stage(
                report, "search", progress, lambda: f"{report.indexed} papers, {made} indexed"
            ):
                made = indexed()
                report.indexed = len(records)


@contextlib.contextmanager
def _threads() -> Iterator[ThreadPoolExecutor]:
    """The threads that wait for Pagefind; after a failure, no shard not yet begun is."""
    threads = ThreadPoolExecutor(max_workers=search.AT_ONCE)
    try:
        yield threads
    finally:
        threads.shutdown(wait=True, cancel_futures=True)


def _settings(options: BuildOptions) -> SiteConfig:
    config = config_stage.load(options.config_path)
    if options.base_url is None:
        return config
    try:
        return dataclasses.replace(config, base_url=normalize_base_url(options.base_url))
    except ValueError as error:
        raise ConfigError(f"--base-url: {error}") from None


def _write(stage: Stage, files: list[SiteFile], progress: Progress) -> None:
    for number, file in enumerate(files, start=1):
        progress.advance("write", number, len(files))
        if isinstance(file, KeptFile):
            stage.keep(file.path)
        elif isinstance(file, OutputFile):
            stage.add(file)
        else:
            stage.added(file.path, file.entry)


def _index_meanwhile(
    stage: Stage,
    records: list[tuple[str, str]],
    record_of: Callable[[str], str],
    language: str,
    threads: ThreadPoolExecutor,
) -> Callable[[], int]:
    """The search index of the new site, in shards (records: each paper's slug and the
    key of its record, record_of(slug) the record): a shard whose key is unchanged is
    kept, the others are made by Pagefind into the stage, a few at a time (each holds
    its pages in memory), by these threads. Returns a function that waits for them and
    tells how many papers were indexed anew."""
    todo = []
    for shard in search.shards(records, language):
        if stage.holds_folder(shard.folder, shard.key):
            stage.keep_folder(shard.folder)
        else:
            todo.append((shard, stage.add_folder(shard.folder, shard.key)))

    def make(number: int) -> None:
        shard, bundle = todo[number]
        work = stage.path / f".records-{number}"
        pages = search.index_shard(shard, record_of, work, bundle, language)
        if pages != len(shard.papers):
            raise LabdigestError(
                f"Pagefind indexed {pages} pages in {shard.folder}, expected {len(shard.papers)}"
            )

    futures = [threads.submit(make, number) for number in range(len(todo))]

    def wait() -> int:
        for future in futures:
            future.result()
        return sum(len(shard.papers) for shard, _ in todo)

    return wait


def _count(links: dict[str, tuple[str, ...]]) -> int:
    return sum(len(v) for v in links.values())


def _warnings(topic_counts: dict[str, int], library: Library) -> list[str]:
    warnings = []
    unsorted = topic_counts.get(UNSORTED_SLUG, 0)
    if unsorted:
        papers = "1 paper matches" if unsorted == 1 else f"{unsorted} papers match"
        warnings.append(f"{papers} no topic (see /topics/{UNSORTED_SLUG}/)")
    in_digest = {entry.slug for digest in library.digests for entry in digest.papers}
    orphans = [p.slug for p in library.papers if p.slug not in in_digest]
    if orphans:
        warnings.append(f"{len(orphans)} papers are in no digest manifest, e.g. {orphans[0]}")
    return warnings

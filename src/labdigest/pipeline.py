"""The stages of a build that has work to do, in the order they run: config, content,
topics, related papers, rendering, writing, the search index, one timed line each.
build.py imports this module only once it knows the inputs changed: markdown-it, Jinja
and YAML take a fifth of a second to import, which a build with nothing to do should
not pay (related.py imports NumPy and Numba only when it has papers to rank)."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from labdigest import config as config_stage
from labdigest import content, parallel, related, search, topics, write
from labdigest.build import BuildOptions, BuildReport, timed_stage
from labdigest.cache import Cache
from labdigest.config import normalize_base_url
from labdigest.errors import ConfigError, LabdigestError
from labdigest.models import UNSORTED_SLUG, Library, SiteConfig
from labdigest.progress import Progress
from labdigest.related import Links
from labdigest.render import Renderer
from labdigest.sources import Sources


def run(
    options: BuildOptions,
    out: Path,
    sources: Sources,
    report: BuildReport,
    progress: Progress,
) -> None:
    """Build the site of these sources into `out` (its inputs changed since the last build)."""
    cache = Cache(options.root)
    with contextlib.ExitStack() as background:
        # The next staging folder's files (20,000 for 10,000 papers) are looked at in a
        # process of its own while this one reads the content (see write.precheck).
        checked = (
            background.enter_context(parallel.in_background(lambda: write.precheck(out)))
            if len(sources.papers) >= parallel.MIN_ITEMS
            else None
        )
        _build_from(options, out, sources, cache, checked, report, progress)


def _build_from(
    options: BuildOptions,
    out: Path,
    sources: Sources,
    cache: Cache,
    checked: Callable[[], write.Precheck] | None,
    report: BuildReport,
    progress: Progress,
) -> None:
    """The settings and content read, then the site built from them."""
    root = options.root

    with timed_stage(report, "config", progress, lambda: f"{options.config_path}"):
        config = config_stage.load(options.config_path)
        if options.base_url is not None:
            try:
                config = dataclasses.replace(config, base_url=normalize_base_url(options.base_url))
            except ValueError as error:
                raise ConfigError(f"--base-url: {error}") from None

    with timed_stage(report, "content", progress, lambda: f"{report.papers} papers"):
        library = content.load(root / "content", config, cache, sources)
        report.papers = len(library.papers)

    # A large site's related papers are ranked in a process of their own while this one
    # finds topics and makes views, which do not need them (see related.meanwhile).
    with related.meanwhile(library.papers, cache=cache, keys=library.text_keys) as links:
        loaded = Loaded(library, links, checked)
        _build_site(options, out, config, cache, loaded, report, progress)


@dataclass(slots=True)
class Loaded:
    """The content as read, and the work on it going on in other processes meanwhile."""

    library: Library
    related_links: Callable[[], Links]  # see related.meanwhile
    checked: Callable[[], write.Precheck] | None  # see write.precheck


def _build_site(
    options: BuildOptions,
    out: Path,
    config: SiteConfig,
    cache: Cache,
    loaded: Loaded,
    report: BuildReport,
    progress: Progress,
) -> None:
    """Topics, related papers, rendering, writing and the search index, into the staging
    folder that then becomes the output folder."""
    root, library = options.root, loaded.library
    with timed_stage(report, "topics", progress, lambda: f"{len(report.topics)} topics"):
        topic_index = topics.assign(library, config.topics, cache)
        report.topics = {t.slug: len(topic_index.papers_in[t.slug]) for t in topic_index.topics}
        report.warnings.extend(_warnings(report.topics, library))

    if options.strict and report.warnings:
        raise LabdigestError("--strict: " + "; ".join(report.warnings))

    # Pagefind refuses a site without pages to index: a new site, no digest yet.
    indexing = options.search and bool(library.papers)
    # The staging folder opens before rendering: a page whose inputs are those of the file
    # already in it is kept rather than rendered again.
    with write.build_lock(out), write.staged_output(out, loaded.checked) as stage:
        with timed_stage(
            report,
            "render",
            progress,
            lambda: f"{report.pages} files, {report.kept} of them unchanged",
        ):
            templates = (root / "templates").absolute()
            renderer = Renderer(
                config,
                templates,
                reuse=stage.holds if stage.may_hold_files() else None,
                cache=cache,
                store=functools.partial(write.store_file, stage),
            )

            def related_papers() -> Links:
                with timed_stage(
                    report, "related", progress, lambda: f"{related_count(links)} links"
                ):
                    links = loaded.related_links()
                return links

            files = renderer.render_site(
                library, topic_index, related_papers, progress, search_page=not indexing
            )
            report.pages = len(files)
            report.kept = sum(file.reused for file in files)
        with timed_stage(
            report,
            "write",
            progress,
            lambda: f"{report.files} files, {stage.written} written → {out}",
        ):
            keep = search.FOLDER if indexing else None
            report.files = write.write_files(stage, files, progress, keep=keep)
        if indexing:
            with timed_stage(
                report, "search", progress, lambda: f"{report.indexed} papers indexed"
            ):
                progress.advance("search", 0, 1)
                stats = _index(stage, out, config.language)
                report.indexed = stats.pages
            if stats.pages != report.papers:
                raise LabdigestError(
                    f"Pagefind indexed {stats.pages} pages, expected {report.papers} papers"
                )
            # The search page names the index's first files, so it is written after them.
            write.add_file(stage, renderer.search_page(stats.bundle))
            report.files += 1


def _index(stage: write.Stage, out: Path, language: str) -> search.SearchStats:
    """The search index of the staged site, made anew by Pagefind, which writes no page
    fragment or word chunk it finds: an earlier index's are left in place for it (after
    an edit to one paper of 10,000, a third of its time saved). A kept file the new index
    may name for other content is deleted, and Pagefind run again to write it (see
    search.clashing)."""
    folder = stage.path / search.FOLDER
    kept: dict[str, str] = {}
    earlier = write.earlier_index(stage, out, search.FOLDER, search.reusable)
    if earlier is not None:
        words = search.chunk_words(earlier)  # (read before the stage's own is pared)
        if write.keep_subfolders(stage, earlier, search.FOLDER, search.REUSED):
            stale, kept = search.kept_files(folder, words)
            write.remove_files(folder, stale)
    stats = search.index(stage.path, language)
    # Pagefind's address of papers/<slug>/index.html is /papers/<slug>/.
    pages = frozenset(f"/{path.removesuffix('index.html')}" for path in stage.manifest)
    clashing = search.clashing(kept, stats.named, folder, pages)
    if clashing:
        write.remove_files(folder, clashing)
        stats = search.index(stage.path, language)
    write.remove_files(folder, sorted(kept.keys() - stats.named.keys()))
    return stats


def related_count(links: dict[str, tuple[str, ...]]) -> int:
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

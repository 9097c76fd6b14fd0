"""The entry point of a build: site.toml and content/ in, public/ out. It first works
out whether anything changed since the last build (the fingerprint: a scan of the
content, no parsing); only then are the stages (pipeline.py) imported and run."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from labdigest import fingerprint, write
from labdigest.errors import LabdigestError
from labdigest.progress import SILENT, Progress
from labdigest.sources import scan


@dataclass(frozen=True, slots=True)
class BuildOptions:
    config_path: Path
    out: Path | None = None  # default: public/ beside site.toml
    base_url: str | None = None
    search: bool = True
    strict: bool = False

    @property
    def root(self) -> Path:
        return self.config_path.absolute().parent


@dataclass(slots=True)
class BuildReport:
    papers: int = 0
    pages: int = 0
    files: int = 0
    kept: int = 0  # files whose inputs had not changed: kept from an earlier build
    topics: dict[str, int] = field(default_factory=dict)
    indexed: int | None = None
    warnings: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    unchanged: bool = False  # the inputs were those of the last build: nothing was written


@contextmanager
def timed_stage(
    report: BuildReport, name: str, progress: Progress, detail: Callable[[], str]
) -> Iterator[None]:
    started = time.perf_counter()
    yield
    report.seconds[name] = elapsed = time.perf_counter() - started
    progress.stage_done(name, elapsed, detail())


def build(options: BuildOptions, progress: Progress = SILENT) -> BuildReport:
    with without_cycle_collection():
        return _build(options, progress)


@contextmanager
def without_cycle_collection() -> Iterator[None]:
    """A build (or an ingest) holds a million small objects (papers, views, cache entries) and makes
    almost no reference cycles: Python's cycle collector walked them all again and again,
    half a second of a 10,000-paper rebuild, to free nothing. Plain reference counting
    still frees everything; `labdigest serve` gets the collector back between builds."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _build(options: BuildOptions, progress: Progress = SILENT) -> BuildReport:
    report = BuildReport()
    root = options.root
    out = (options.out or root / "public").absolute()
    write.check_output_folder(out, root)

    with timed_stage(
        report,
        "inputs",
        progress,
        lambda: "unchanged: nothing to rebuild" if report.unchanged else "changed",
    ):
        sources = scan(root / "content")
        inputs = fingerprint.compute(
            root, options.config_path, _options_key(options, out), sources.by_folder()
        )
        previous = fingerprint.unchanged(out, inputs) if out.is_dir() else None
        report.unchanged = previous is not None
    if previous is not None:
        report.papers, report.files = previous.papers, previous.files
        report.topics = dict(previous.topics)
        report.indexed, report.warnings = previous.indexed, previous.warnings
        if options.strict and report.warnings:
            raise LabdigestError("--strict: " + "; ".join(report.warnings))
        return report
    fingerprint.forget(out)
    # The stages, imported only now: a build with nothing to do needs none of them.
    from labdigest import pipeline

    pipeline.run(options, out, sources, report, progress)
    summary = fingerprint.Summary(
        report.papers, report.files, list(report.topics.items()), report.indexed, report.warnings
    )
    fingerprint.record(out, inputs, summary)
    return report


def _options_key(options: BuildOptions, out: Path) -> dict[str, object]:
    return {"base_url": options.base_url, "search": options.search, "out": str(out)}

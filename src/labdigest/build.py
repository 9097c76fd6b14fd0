"""The entry point of a build: site.toml and content/ in, public/ out. It first works
out whether anything changed since the last build (the fingerprint: a scan of the
content, no parsing); only then are the stages (pipeline.py) imported and run."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from labdigest import fingerprint
from labdigest.errors import LabdigestError
from labdigest.output.stage import check_output_folder
from labdigest.progress import SILENT, Progress
from labdigest.report import BuildOptions, BuildReport, timed_stage
from labdigest.sources import scan

__all__ = ["BuildOptions", "BuildReport", "build"]


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
    check_output_folder(out, root)

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

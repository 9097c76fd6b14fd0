"""What a build is asked to do, and what it reports: one timed line per stage."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from labdigest.progress import Progress


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
    kept: int = 0  # files whose inputs had not changed: kept from the last build
    written: int = 0  # files whose bytes changed (the others are left as they are)
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

"""A build's fingerprint: what the inputs were (sizes and modification times of every
source file, the settings, the options, labdigest's own code), stored beside the output
with the build's summary. An unchanged fingerprint and an untouched output folder mean
there is nothing to rebuild; the stored summary stands in for the build."""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from labdigest import __version__, config
from labdigest.output.files import write_atomic

PACKAGE = Path(__file__).parent


@dataclass(slots=True)
class Summary:
    papers: int = 0
    files: int = 0
    topics: list[tuple[str, int]] = field(default_factory=list)  # in site.toml order
    indexed: int | None = None
    warnings: list[str] = field(default_factory=list)


def _tree_state(folder: Path) -> list[tuple[str, int, int]]:
    if not folder.is_dir():
        return []
    state = []
    for directory, folders, names in os.walk(folder):
        # Python writes __pycache__ as modules are first imported: not an input.
        folders[:] = [f for f in folders if f != "__pycache__"]
        for name in names:
            stat = os.stat(os.path.join(directory, name))
            state.append((os.path.join(directory, name), stat.st_size, stat.st_mtime_ns))
    return sorted(state)


@functools.cache
def code_state() -> tuple[tuple[str, int, int], ...]:
    """labdigest's own source files: a build by other code is another build. Read once
    per process (the fingerprint, the cache and the renderer all ask): it is the code
    this process runs."""
    return tuple(_tree_state(PACKAGE))


def compute(
    root: Path,
    config_path: Path,
    options: dict[str, object],
    content_files: Mapping[str, Mapping[str, tuple[int, int, int]]],
) -> str:
    """The fingerprint of these inputs; content_files are the content files the build
    reads, by folder, each name with its file's size, time and inode (content.scan: the
    build reads what it scanned, and 10,000 papers took a tenth of a second to scan)."""
    digest = hashlib.sha256()
    digest.update(json.dumps([__version__, options], sort_keys=True, default=str).encode())
    digest.update(config.read(config_path))
    digest.update(json.dumps(sorted(content_files.items())).encode())
    digest.update(json.dumps(_tree_state(root / "templates")).encode())
    digest.update(json.dumps(code_state()).encode())
    return digest.hexdigest()


def _record_path(out: Path) -> Path:
    return out.parent / f".{out.name}.fingerprint"


def _output_state(out: Path) -> list[int]:
    stat = out.stat()
    return [stat.st_ino, stat.st_mtime_ns]


def unchanged(out: Path, fingerprint: str) -> Summary | None:
    """The stored summary if `out` was built from exactly these inputs and not touched."""
    try:
        record = json.loads(_record_path(out).read_text(encoding="utf-8"))
        if record["fingerprint"] != fingerprint or record["output"] != _output_state(out):
            return None
        summary = Summary(**record["summary"])
        summary.topics = [(slug, count) for slug, count in summary.topics]
        return summary
    except (OSError, ValueError, KeyError, TypeError):
        return None


def record(out: Path, fingerprint: str, summary: Summary) -> None:
    data = {"fingerprint": fingerprint, "output": _output_state(out), "summary": asdict(summary)}
    write_atomic(_record_path(out), json.dumps(data, sort_keys=True).encode("utf-8"))


def forget(out: Path) -> None:
    _record_path(out).unlink(missing_ok=True)

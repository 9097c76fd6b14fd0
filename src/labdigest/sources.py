"""The content files a build reads, found without reading them: their names and file
keys, for the build's fingerprint and for reading them. Light on purpose (os and pathlib):
a build with nothing to do needs no more than this and the fingerprint, not the parsers."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

# A file is taken to be unchanged while its size, modification time and inode are: the
# test make and Hugo's file watcher use. Reading and hashing every file would cost more
# than parsing the ones that changed.
FileKey = tuple[int, int, int]


def file_key(stat: os.stat_result) -> FileKey:
    return (stat.st_size, stat.st_mtime_ns, stat.st_ino)


def papers_dir(content_dir: Path) -> Path:
    return content_dir / "papers"


def manifests_dir(content_dir: Path) -> Path:
    return content_dir / "manifests"


@dataclass(frozen=True, slots=True)
class Sources:
    """The content files a build reads (by name, sorted), each with its file key: found
    once, for the build's fingerprint and for reading them."""

    papers: dict[str, FileKey]
    manifests: dict[str, FileKey]

    def by_folder(self) -> dict[str, dict[str, FileKey]]:
        return {"papers": self.papers, "manifests": self.manifests}


def scan(content_dir: Path) -> Sources:
    return Sources(
        scan_folder(papers_dir(content_dir), ".md"),
        scan_folder(manifests_dir(content_dir), ".yml"),
    )


def scan_folder(folder: Path, suffix: str) -> dict[str, FileKey]:
    """The folder's files ending in suffix (hidden ones and folders aside), by name,
    sorted."""
    if not folder.is_dir():
        return {}
    # Names as text, not Paths: sorting 10,000 Paths took a fifth of a second.
    with os.scandir(folder) as entries:
        found = {
            entry.name: file_key(entry.stat())
            for entry in entries
            if entry.name.endswith(suffix) and not entry.name.startswith(".") and entry.is_file()
        }
    return {name: found[name] for name in sorted(found)}

"""Pagefind, alone behind this module. The papers are indexed as a few Pagefind bundles
(shards), which the search page searches side by side (templates/assets/search.js). A
shard is indexed again only when what it indexes changed, so a rebuild re-indexes only
the shards a change touched: a new digest only the newest.

What Pagefind indexes of a paper is its search record (templates/search-record.html),
rendered with its view: a small page holding the paper's indexed text, filters and sort
keys, not the paper's page with its related papers and citation. The shards are made by
Pagefind's command-line program; only `page_count` is read from its entry file."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from labdigest.errors import SearchError

FOLDER = "pagefind"  # the shards, in the site's root: pagefind/1/, pagefind/2/, …
# The shard policy (docs/design.md): by date, full shards of SETTLED papers, then full
# shards of RECENT papers, then the newest papers. A new digest re-indexes the newest
# shard alone; every RECENT-th paper closes a recent shard, and once SETTLED / RECENT
# recent shards are full they are indexed again as one settled shard. Pagefind holds
# about 130 KB per page while it indexes: a settled shard, about 400 MB.
SETTLED = 3000
RECENT = 500
AT_ONCE = 2  # shards indexed side by side (each its own Pagefind process)


@dataclass(frozen=True, slots=True)
class Shard:
    """One Pagefind bundle: its folder in the site, its papers (slug, the key of its
    search record) and the key of all that it indexes."""

    folder: str
    papers: tuple[tuple[str, str], ...]
    key: str


def shard_sizes(count: int) -> list[int]:
    """How many papers each shard holds, oldest first, for a site of `count` papers."""
    settled, rest = divmod(count, SETTLED)
    recent, newest = divmod(rest, RECENT)
    return [SETTLED] * settled + [RECENT] * recent + ([newest] if newest else [])


def bundle_folders(count: int) -> list[str]:
    """The folders of the shards of a site of `count` papers, oldest first."""
    return [f"{FOLDER}/{number}" for number in range(1, len(shard_sizes(count)) + 1)]


def shards(papers: Sequence[tuple[str, str]], language: str) -> list[Shard]:
    """The shards of these papers (slug, the key of its search record), given by date
    (records_in_order)."""
    made, start = [], 0
    version = pagefind_version()
    for folder, size in zip(bundle_folders(len(papers)), shard_sizes(len(papers)), strict=True):
        part = tuple(papers[start : start + size])
        start += size
        digest = hashlib.sha1(f"{version}\0{language}".encode())
        for slug, record_key in part:
            digest.update(f"\0{slug}\0{record_key}".encode())
        made.append(Shard(folder, part, digest.hexdigest()))
    return made


def index_shard(
    shard: Shard, record_of: Callable[[str], str], work: Path, bundle: Path, language: str
) -> int:
    """Write the shard's bundle into `bundle` (made from its papers' search records,
    record_of(slug), written under `work` and removed again); the pages it indexed."""
    # One file per paper, side by side (a folder each costs more than the file): a
    # result links to the page its record names (its `path` metadata), not to this file.
    work.mkdir()
    for slug, _ in shard.papers:
        (work / f"{slug}.html").write_text(record_of(slug), encoding="utf-8")
    try:
        _run(
            "--site",
            str(work),
            "--output-path",
            str(bundle),
            "--force-language",
            pagefind_language(language),
            "--quiet",
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return indexed_pages(bundle)


def pagefind_language(language: str) -> str:
    """The site's language as Pagefind names its index and WebAssembly ("en-GB": "en")."""
    return language.split("-")[0].lower()


def _run(*arguments: str) -> None:
    command = [str(pagefind_executable()), *arguments]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise SearchError(
            "Pagefind failed: " + (detail[-1] if detail else f"exit status {result.returncode}")
        )


def pagefind_executable() -> Path:
    try:
        import pagefind_bin
    except ImportError:
        raise SearchError(
            "Pagefind is not installed (pip install pagefind-bin), or build with --no-search"
        ) from None
    try:
        return Path(pagefind_bin.get_executable())
    except FileNotFoundError as error:
        raise SearchError(f"the Pagefind binary is missing: {error}") from None


def pagefind_version() -> str:
    """The installed Pagefind's version: a shard made by another is made again."""
    try:
        return importlib.metadata.version("pagefind_bin")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def indexed_pages(bundle: Path) -> int:
    entry = json.loads((bundle / "pagefind-entry.json").read_bytes())
    return sum(int(language["page_count"]) for language in entry["languages"].values())


def records_in_order(record_keys: dict[str, str], dates: dict[str, str]) -> list[tuple[str, str]]:
    """The papers (slug, the key of its search record) by date, then slug: every paper of
    a shard is as old as or newer than every paper of the shard before, so the search page
    lists results newest first by reading the shards newest first."""
    order = sorted(record_keys, key=lambda s: (dates[s], s))
    return [(slug, record_keys[slug]) for slug in order]

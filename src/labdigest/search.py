"""Pagefind, alone behind one function: index the paper pages of a built site."""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from labdigest.errors import SearchError

# Only paper pages carry data-pagefind-body; the glob also spares Pagefind from parsing
# every topic and digest page just to skip it.
PAPER_GLOB = "papers/*/index.html"


@dataclass(frozen=True, slots=True)
class SearchBundle:
    """The files Pagefind asks for before it can search, for the search page to name in
    its <head>: the browser then fetches them alongside the page, not one after another
    once pagefind.js has run. Paths are relative to the site's root."""

    cache_tag: str  # Pagefind's metaCacheTag: changes whenever the index does
    meta: str
    wasm: str

    @property
    def entry(self) -> str:
        """The entry file as Pagefind requests it when given cache_tag."""
        return f"pagefind/pagefind-entry.json?ts={self.cache_tag}"


@dataclass(frozen=True, slots=True)
class SearchStats:
    pages: int
    seconds: float
    bytes: int
    bundle: SearchBundle | None  # None for an index of no pages


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


def index(site_dir: Path, language: str) -> SearchStats:
    """Write site_dir/pagefind/ for the paper pages under site_dir."""
    started = time.perf_counter()
    code = language.split("-")[0].lower()
    command = [
        str(pagefind_executable()),
        "--site",
        str(site_dir),
        "--glob",
        PAPER_GLOB,
        "--force-language",
        code,
        "--quiet",
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise SearchError(
            "Pagefind failed: " + (detail[-1] if detail else f"exit status {result.returncode}")
        )
    folder = site_dir / "pagefind"
    entry = (folder / "pagefind-entry.json").read_bytes()
    return SearchStats(
        pages=_page_count(entry),
        seconds=time.perf_counter() - started,
        bytes=sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()),
        bundle=_search_bundle(entry, code),
    )


def _search_bundle(entry: bytes, language: str) -> SearchBundle | None:
    """From the bytes of pagefind-entry.json."""
    index = json.loads(entry)["languages"].get(language)
    if index is None or not index.get("page_count"):
        return None
    return SearchBundle(
        cache_tag=hashlib.sha256(entry).hexdigest()[:16],
        meta=f"pagefind/pagefind.{index['hash']}.pf_meta",
        wasm=f"pagefind/wasm.{index.get('wasm') or 'unknown'}.pagefind",
    )


def indexed_pages(bundle: Path) -> int:
    return _page_count((bundle / "pagefind-entry.json").read_bytes())


def _page_count(entry: bytes) -> int:
    languages = json.loads(entry)["languages"]
    return sum(int(language["page_count"]) for language in languages.values())

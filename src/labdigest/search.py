"""Pagefind, alone behind one function: index the paper pages of a built site; and what
an index holds, for a rebuild to keep what Pagefind can use again (see reusable)."""

from __future__ import annotations

import gzip
import hashlib
import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from labdigest.errors import SearchError
from labdigest.write import NamedByContent

# Only paper pages carry data-pagefind-body; the glob also spares Pagefind from parsing
# every topic and digest page just to skip it.
PAPER_GLOB = "papers/*/index.html"
FOLDER = "pagefind"  # the index, in the site's root
# Pagefind names most of an index's files by a hash of what they hold: each page's
# fragment, the chunks of the word index, the filters (in these folders), and the
# metadata naming them all (pagefind.<hash>.pf_meta). It writes none of those it finds
# already there, and it compresses each at zlib's highest level: reading the pages aside,
# most of its time. A rebuild leaves an earlier index's files in place for it.
_SUFFIXES = {"fragment": ".pf_fragment", "index": ".pf_index", "filter": ".pf_filter"}
BY_CONTENT = NamedByContent(frozenset(_SUFFIXES), ".pf_meta")


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
    bundle: SearchBundle | None  # None for an index of no pages
    # The files named by content (paths in the index folder) this index uses; any other
    # there is an earlier index's, no longer wanted.
    named: frozenset[str]


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
    folder = site_dir / FOLDER
    entry = (folder / "pagefind-entry.json").read_bytes()
    return SearchStats(
        pages=_page_count(entry),
        bundle=_search_bundle(entry, code),
        named=_named_files(folder, json.loads(entry)),
    )


def reusable(folder: Path) -> bool:
    """Whether the index in `folder` was written by this Pagefind, so that its files named
    by content are what this one would write under those names (another version's may
    be laid out otherwise)."""
    try:
        entry = json.loads((folder / "pagefind-entry.json").read_bytes())
    except (OSError, ValueError):
        return False
    return isinstance(entry, dict) and entry.get("version") == _pagefind_version()


def _pagefind_version() -> str | None:
    try:
        return metadata.version("pagefind-bin")
    except metadata.PackageNotFoundError:
        return None


def _named_files(folder: Path, entry: dict[str, dict[str, dict[str, object]]]) -> frozenset[str]:
    """The files named by content that the index in `folder` uses: its metadata, and the
    fragments, word chunks and filters the metadata names (by their hashes)."""
    import cbor2  # (only a build with search reads an index)

    named: set[str] = set()
    for language in entry["languages"].values():
        meta = f"pagefind.{language['hash']}{BY_CONTENT.suffix}"
        named.add(meta)
        data = gzip.decompress((folder / meta).read_bytes())
        # Pagefind marks what it compressed with a prefix, then the metadata in CBOR.
        hashes = set(_strings(cbor2.loads(data.removeprefix(b"pagefind_dcd"))))
        named.update(f"{sub}/{h}{suffix}" for sub, suffix in _SUFFIXES.items() for h in hashes)
    return frozenset(named)


def _strings(value: object) -> Iterator[str]:
    """Every text in a decoded CBOR value (the hashes are among them, wherever a version
    of Pagefind puts them)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)


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

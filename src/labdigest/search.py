"""Pagefind, alone behind this module: index the paper pages of a built site, and tell
what of an earlier index Pagefind can use again (see REUSED)."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import subprocess
import zlib
from collections import Counter
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from labdigest import parallel
from labdigest.errors import SearchError

# Only paper pages carry data-pagefind-body; the glob also spares Pagefind from parsing
# every topic and digest page just to skip it.
PAPER_GLOB = "papers/*/index.html"
FOLDER = "pagefind"  # the index, in the site's root
# Pagefind names each page's fragment (its text for results) and each chunk of its word
# index by the language and the start of the content's SHA-1, seven characters (more
# only where two of one index would share them), and writes none it finds already
# there: it compresses each at zlib's highest level, most of its time after reading the
# pages. A rebuild leaves an earlier index's fragments and chunks in place for it (see
# kept_files and clashing: a name alone does not prove what a file holds).
REUSED = ("fragment", "index")
_SHORT = 7  # characters of a hash in a name, when no other of the index starts alike
_PACKED = b"pagefind_dcd"  # Pagefind's mark on what it compressed


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
        return f"{FOLDER}/pagefind-entry.json?ts={self.cache_tag}"


@dataclass(frozen=True, slots=True)
class SearchStats:
    pages: int
    bundle: SearchBundle | None  # None for an index of no pages
    # The files of REUSED this index names (paths in its folder), with what they hold
    # where the metadata says: a word chunk's first and last words (None: a fragment).
    named: dict[str, str | None]


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
        named=_named(folder, json.loads(entry)),
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


def chunk_words(folder: Path) -> dict[str, str]:
    """The first and last words of each chunk of the word index in `folder`, by the
    chunk's name ("en_8332369"); empty if the index cannot be read."""
    try:
        metadata = _metadata(folder, json.loads((folder / "pagefind-entry.json").read_bytes()))
    except Exception:  # (missing, damaged: nothing of it is kept)
        return {}
    return {name: words for meta in metadata for name, words in _chunks(meta).items()}


def _named(folder: Path, entry: dict[str, dict[str, dict[str, object]]]) -> dict[str, str | None]:
    """The fragments and word chunks the index in `folder` names (see SearchStats.named)."""
    named: dict[str, str | None] = {}
    for meta in _metadata(folder, entry):
        for row in _rows(meta, (str, int)):  # each page: its fragment's name, its words
            named[f"fragment/{row[0]}.pf_fragment"] = None
        for name, words in _chunks(meta).items():
            named[f"index/{name}.pf_index"] = words
    return named


def _metadata(folder: Path, entry: dict[str, dict[str, dict[str, object]]]) -> list[object]:
    """The decoded metadata (CBOR) of each language of the index in `folder`."""
    import cbor2  # (only a build with search reads an index)

    metadata = []
    for language in entry["languages"].values():
        data = gzip.decompress((folder / f"pagefind.{language['hash']}.pf_meta").read_bytes())
        metadata.append(cbor2.loads(data.removeprefix(_PACKED)))
    return metadata


def _chunks(meta: object) -> dict[str, str]:
    """Each word chunk's name and its first and last words (rows of three texts)."""
    return {row[2]: f"{row[0]} {row[1]}" for row in _rows(meta, (str, str, str))}


def _rows(meta: object, kinds: tuple[type, ...]) -> list[list[Any]]:
    """The first list in the metadata whose items are all rows of these kinds: where a
    version of Pagefind keeps its pages (name, word count) or chunks (from, to, name)."""
    for part in meta if isinstance(meta, list) else []:
        if (
            isinstance(part, list)
            and part
            and all(
                isinstance(row, list)
                and len(row) == len(kinds)
                and all(isinstance(value, kind) for value, kind in zip(row, kinds, strict=True))
                for row in part
            )
        ):
            return part
    return []


def kept_files(folder: Path, words: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """Of an earlier index's fragments and word chunks in `folder`, those Pagefind must not
    find (paths in `folder`), and the others with what they hold: a fragment's page
    address, a chunk's first and last words (`words`, from the earlier metadata). A
    file is not kept if its content does not have the hash its name says, if another's
    name starts alike (Pagefind gives the shorter name to whichever of two it makes
    first), or, for a chunk, if its words are unknown."""
    paths: list[str] = []
    for subfolder in REUSED:
        with contextlib.suppress(FileNotFoundError):
            paths.extend(f"{subfolder}/{name}" for name in sorted(os.listdir(folder / subfolder)))
    starts = Counter(_short(path) for path in paths)
    held = parallel.fork_map(lambda path: _holds(folder / path, words), paths)
    stale: list[str] = []
    kept: dict[str, str] = {}
    for path, holds in zip(paths, held, strict=True):
        if holds is None or starts[_short(path)] > 1:
            stale.append(path)
        else:
            kept[path] = holds
    return stale, kept


def clashing(
    kept: dict[str, str], named: dict[str, str | None], folder: Path, pages: frozenset[str]
) -> list[str]:
    """Of the kept files (see kept_files) the new index in `folder` names, those that may
    not hold what it names them for: where it lengthened a name starting alike (two of
    its hashes start alike); a chunk whose words differ; a fragment whose page is gone
    (`pages`: the site's page addresses) or whose page's fragment was written anew (the
    page's text changed, and new text took the name). For one page changed in 10,000,
    about one time in 27,000; the build then runs Pagefind again."""
    if not kept:  # (a clean build: nothing to read)
        return []
    extended = {_short(path) for path in named if len(_hash_of(path)) > _SHORT}
    written = sorted(path for path in named.keys() - kept.keys() if path.startswith("fragment/"))
    rewritten = set(parallel.fork_map(lambda path: _holds(folder / path, {}), written))

    def clashes(path: str, holds: str) -> bool:
        if _short(path) in extended:
            return True
        if path.startswith("fragment/"):
            return holds in rewritten or holds not in pages
        return named[path] != holds

    return [path for path, holds in kept.items() if path in named and clashes(path, holds)]


def _holds(path: Path, words: dict[str, str]) -> str | None:
    """What a file of the index holds, if its content has the hash its name says (as
    Pagefind writes hashes: each byte in hex, without leading zeros): a fragment's page
    address, a chunk's words (from `words`); else None."""
    try:
        data = gzip.decompress(path.read_bytes())
    except (OSError, EOFError, zlib.error):
        return None
    text = data.removeprefix(_PACKED)
    digest = "".join(format(byte, "x") for byte in hashlib.sha1(text).digest())
    short = _hash_of(path.name)
    if not data.startswith(_PACKED) or len(short) < _SHORT or not digest.startswith(short):
        return None
    if path.parent.name != "fragment":
        return words.get(_stem(path.name))
    try:
        url = json.loads(text)["url"]
    except (ValueError, KeyError, TypeError):
        return None
    return url if isinstance(url, str) else None


def _stem(name: str) -> str:
    """A fragment's or chunk's name without folder and suffix ("en_964fa21")."""
    return name.rpartition("/")[2].partition(".")[0]


def _hash_of(name: str) -> str:
    """The hash in a fragment's name ("fragment/en_964fa21.pf_fragment": 964fa21)."""
    return _stem(name).rpartition("_")[2]


def _short(name: str) -> str:
    """A fragment's language and the first characters of its hash: the part of the name
    that pages whose hashes start alike share."""
    language, _, digest = _stem(name).rpartition("_")
    return f"{language}_{digest[:_SHORT]}"


def _search_bundle(entry: bytes, language: str) -> SearchBundle | None:
    """From the bytes of pagefind-entry.json."""
    index = json.loads(entry)["languages"].get(language)
    if index is None or not index.get("page_count"):
        return None
    return SearchBundle(
        cache_tag=hashlib.sha256(entry).hexdigest()[:16],
        meta=f"{FOLDER}/pagefind.{index['hash']}.pf_meta",
        wasm=f"{FOLDER}/wasm.{index.get('wasm') or 'unknown'}.pagefind",
    )


def indexed_pages(bundle: Path) -> int:
    return _page_count((bundle / "pagefind-entry.json").read_bytes())


def _page_count(entry: bytes) -> int:
    languages = json.loads(entry)["languages"]
    return sum(int(language["page_count"]) for language in languages.values())

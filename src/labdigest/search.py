"""Pagefind, alone behind this module: index the paper pages of a built site with its
command-line program, and read how many pages its index holds from its entry file (the
one file Pagefind documents for that)."""

from __future__ import annotations

import fnmatch
import json
import subprocess
from pathlib import Path

from labdigest.errors import SearchError

# Only paper pages carry data-pagefind-body; the glob also spares Pagefind from parsing
# every topic and digest page just to skip it.
PAPER_GLOB = "papers/*/index.html"
FOLDER = "pagefind"  # the index, in the site's root


def is_indexed_page(path: str) -> bool:
    """Whether Pagefind reads this file of the site (a path in it)."""
    return fnmatch.fnmatchcase(path, PAPER_GLOB) and path.count("/") == 2


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


def index(site_dir: Path, language: str) -> int:
    """Write site_dir/pagefind/ for the paper pages under site_dir; the pages indexed."""
    command = [
        str(pagefind_executable()),
        "--site",
        str(site_dir),
        "--glob",
        PAPER_GLOB,
        "--force-language",
        language.split("-")[0].lower(),
        "--quiet",
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise SearchError(
            "Pagefind failed: " + (detail[-1] if detail else f"exit status {result.returncode}")
        )
    return indexed_pages(site_dir / FOLDER)


def indexed_pages(bundle: Path) -> int:
    entry = json.loads((bundle / "pagefind-entry.json").read_bytes())
    return sum(int(language["page_count"]) for language in entry["languages"].values())

"""Pagefind, alone behind one function: index the paper pages of a built site."""

from __future__ import annotations

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
class SearchStats:
    pages: int
    seconds: float
    bytes: int


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
    bundle = site_dir / "pagefind"
    return SearchStats(
        pages=indexed_pages(bundle),
        seconds=time.perf_counter() - started,
        bytes=sum(p.stat().st_size for p in bundle.rglob("*") if p.is_file()),
    )


def indexed_pages(bundle: Path) -> int:
    entry = json.loads((bundle / "pagefind-entry.json").read_text(encoding="utf-8"))
    return sum(int(language["page_count"]) for language in entry["languages"].values())

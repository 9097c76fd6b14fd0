"""The search page in Chromium, beside Pagefind's bare JS API over one index of the same
site: the time to the first result on screen, in the page's own clock from navigation,
in a new browser context each time (nothing cached), and the bytes fetched per query."""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
QUERIES = ["depth", "diffusion", "generalization", "pose estimation", "language models", "robot"]
BARE = "bench-bare"  # the bare page and its one-bundle index, beside the site's pages

# Pagefind's bare JS API: import, search, the first result's fragment on screen.
BARE_PAGE = """<!doctype html><html lang="en"><meta charset="utf-8"><title>bare</title>
<body><p id="out"></p><script type="module">
const q = new URLSearchParams(location.search).get("q");
const pagefind = await import("/bench-bare/index/pagefind.js");
await pagefind.options({ basePath: "/bench-bare/index/" });
const search = await pagefind.search(q);
const data = await search.results[0].data();
document.getElementById("out").textContent = data.meta.title;
document.documentElement.dataset.firstResultsMs = String(Math.round(performance.now()));
</script></body></html>
"""


def search_timings(public: Path) -> dict[str, str]:
    """The search page's and the bare API's median first-result time and bytes."""
    if not CHROMIUM.exists():
        return {}
    bare = public / BARE
    bare.mkdir()
    try:
        pagefind = [sys.executable, "-m", "pagefind_bin", "--site", str(public), "--quiet"]
        options = ["--glob", "papers/*/index.html", "--output-path", str(bare / "index")]
        subprocess.run([*pagefind, *options], check=True, capture_output=True)
        (bare / "index.html").write_text(BARE_PAGE, encoding="utf-8")
        ours, theirs = _measure(public)
    finally:
        shutil.rmtree(bare, ignore_errors=True)
    ms, bare_ms = statistics.median(m for m, _ in ours), statistics.median(m for m, _ in theirs)
    return {
        "first result ms": f"{ms:.0f}",
        "bare Pagefind ms": f"{bare_ms:.0f}",
        "first result ÷ bare": f"{ms / bare_ms:.2f}",
        "KB per query": f"{statistics.median(b for _, b in ours) / 1024:.0f}",
        "bare KB per query": f"{statistics.median(b for _, b in theirs) / 1024:.0f}",
    }


def _measure(public: Path) -> tuple[list[tuple[float, int]], list[tuple[float, int]]]:
    from playwright.sync_api import sync_playwright

    from labdigest.serve import serve_in_background

    server, url = serve_in_background(public, "/")
    ours, theirs = [], []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
            for query in QUERIES:
                ours.append(_first_result(browser, f"{url}search/?q={query}"))
                theirs.append(_first_result(browser, f"{url}{BARE}/?q={query}"))
            browser.close()
    finally:
        server.shutdown()
    return ours, theirs


def _first_result(browser: Any, address: str) -> tuple[float, int]:
    context = browser.new_context()  # a cold browser: nothing cached
    page = context.new_page()
    sizes: list[int] = []
    page.on("requestfinished", lambda request: sizes.append(request.sizes()["responseBodySize"]))
    page.goto(address)
    page.wait_for_function("() => document.documentElement.dataset.firstResultsMs")
    page.wait_for_load_state("networkidle")
    ms = float(page.evaluate("() => document.documentElement.dataset.firstResultsMs"))
    context.close()
    return ms, sum(sizes)


if __name__ == "__main__":
    print(json.dumps(search_timings(Path(sys.argv[1])), indent=1))

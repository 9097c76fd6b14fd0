"""The search index in shards answers as one index of the same papers would: on the
example (in four shards) and on a site of 10,067 papers (in the shards of the real
policy), a fixed set of queries runs on the site's own search page and on a single
Pagefind index of the same search records, in Chromium. Also: a rebuild re-indexes
only the shards a change touched."""

from __future__ import annotations

import datetime as dt
import random
import re
import shutil
import statistics
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from conftest import DEPTHMASTER_TITLE, build_site, copy_site, stable, tree_bytes
from labdigest import search
from labdigest.ingest import ingest
from labdigest.serve import serve_in_background
from test_search import wait_until

SINGLE = "single-index"  # where the test puts the one-bundle index beside the site's

# (query, filters): single words, phrases, exact phrases, with and without filters.
QUERIES: list[tuple[str, dict[str, list[str]]]] = [
    ("depth", {}),
    ("diffusion", {}),
    ("generalization", {}),
    ("pose", {}),
    ("language", {}),
    ("robot", {}),
    ("benchmark", {}),
    ("transformer", {}),
    ("video", {}),
    ("reasoning", {}),
    ("zero-shot", {}),
    ("adaptation", {}),
    ("monocular depth", {}),
    ("domain generalization", {}),
    ("length generalization", {}),
    ("vision language model", {}),
    ('"depth estimation"', {}),
    ('"large language models"', {}),
    ("depth", {"topic": ["Depth estimation"]}),
    ("model", {"topic": ["Language models"]}),
    ("learning", {"topic": ["Few-shot & meta-learning", "Robotics & 3D scenes"]}),
    ("generalization", {"topic": ["Generalization theory"]}),
    ("diffusion", {"year": ["2026"]}),
    ("training", {"year": ["2025"]}),
    ("data", {"year": ["2024", "2025"]}),
    ("estimation", {"topic": ["Pose estimation"], "year": ["2026"]}),
    ("object", {"topic": ["Robotics & 3D scenes"], "year": ["2025"]}),
    ("", {"topic": ["Vision-language models"]}),
    ("", {"year": ["2026"]}),
    ("DepthMaster", {}),
    ("FoundPose", {}),
    ("GVDepth", {}),
    ("hyperfitting", {}),
]
# Known items: the query and the title expected in the top 3 of both.
KNOWN = {
    "DepthMaster": DEPTHMASTER_TITLE,
    "FoundPose": "FoundPose: Unseen Object Pose Estimation with Foundation Features",
    "GVDepth": "GVDepth: Zero-Shot Monocular Depth Estimation for Ground Vehicles based on"
    " Probabilistic Cue Fusion",
    "hyperfitting": "The Hyperfitting Phenomenon: Sharpening and Stabilizing LLMs for Open-Ended"
    " Text Generation",
}


def grown_digests(root: Path, papers: int) -> None:
    """Add `papers` synthetic papers in five digests (2024 to 2026), made from the
    example's title words and abstract sentences, deterministically."""
    text = (root / "content/digests/hf-papers-mar-11.txt").read_text(encoding="utf-8")
    paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()][5:]
    titles, abstracts = paragraphs[0::2], paragraphs[1::2]
    # Not the known items' names: each stays the name of one paper.
    known = tuple(name.lower() for name in KNOWN)
    words = sorted(
        {w for t in titles for w in re.findall(r"[A-Za-z][A-Za-z0-9-]{3,}", t)}
        - {w for t in titles for w in re.findall(r"\S+", t) if w.lower().startswith(known)}
    )
    words = [w for w in words if not any(k in w.lower() for k in known)]

    # Each abstract is about one of the example's papers: its words drawn mostly from that
    # paper's abstract, some from all of them (reused whole sentences would make papers
    # that tie by the hundred; words drawn from one pool, papers all alike).
    def words_of(text: str) -> list[str]:
        found = re.findall(r"[A-Za-z][A-Za-z-]+", text)
        return [w for w in found if not any(k in w.lower() for k in known)]

    pool = [w for a in abstracts for w in words_of(a)]
    topics = [words_of(a) for a in abstracts]
    rng = random.Random(11)
    dates = ["2024-06-03", "2024-12-02", "2025-06-02", "2025-12-01", "2026-03-02"]
    per_digest = papers // len(dates)
    folder = root / "grown"
    folder.mkdir()
    for number, date in enumerate(dates):
        lines = ["new", "Get trending papers in your email inbox!", "Subscribe", "by AK", date]
        for index in range(per_digest):
            title = f"{' '.join(rng.sample(words, 5)).capitalize()} {number}-{index}"
            about, length = rng.choice(topics), rng.randint(40, 160)
            drawn = [rng.choice(about if rng.random() < 0.8 else pool) for _ in range(length)]
            abstract = " ".join(drawn) + "."
            lines += [title, abstract]
        digest = folder / f"grown-{date}.txt"
        digest.write_text("\n\n".join(lines) + "\n", encoding="utf-8")
        ingest([digest], root / "content", today=dt.date.fromisoformat(date))
    shutil.rmtree(folder)


def with_single_index(root: Path, public: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Build the same site again with every paper in one shard, and put that index
    beside the sharded one, at /single-index/."""
    monkeypatch.setattr(search, "SETTLED", 10**9)
    monkeypatch.setattr(search, "RECENT", 10**9)
    single = build_site(root, out=root / "single")
    assert search.bundle_folders(len(list((root / "content/papers").glob("*.md")))) == [
        "pagefind/1"
    ]
    shutil.copytree(single / "pagefind/1", public / SINGLE)
    shutil.rmtree(single)


def page_answer(page: Any, url: str, query: str, filters: dict[str, list[str]]) -> dict[str, Any]:
    """What the site's search page shows for a query: the count, the first ten titles
    and every filter value's count."""
    params = [("q", query)] + [(name, v) for name, values in filters.items() for v in values]
    page.goto(f"{url}search/?{urlencode(params)}")
    wait_until(
        page,
        """(() => {
            const status = document.getElementById("search-status").textContent;
            const m = status.match(/^(\\d+) papers?/);
            return m && document.querySelectorAll("#search-results li.result").length
                === Math.min(10, Number(m[1]))
                && document.getElementById("search").dataset.counts === "complete";
        })()""",
    )
    return page.evaluate(  # type: ignore[no-any-return]
        """() => ({
            count: Number(document.getElementById("search-status").textContent.split(" ")[0]),
            titles: [...document.querySelectorAll("#search-results li.result h2")]
                .map((h) => h.textContent),
            facets: Object.fromEntries(["topic", "year"].map((name) => [name,
                Object.fromEntries([...document.querySelectorAll(`#facet-${name} input`)]
                    .map((box) => [box.value,
                        Number(box.parentElement.querySelector(".count").textContent)]))])),
        })"""
    )


def single_answers(page: Any, url: str) -> list[dict[str, Any]]:
    page.goto(url + "404.html")
    return page.evaluate(  # type: ignore[no-any-return]
        """async ([bundle, queries]) => {
            const pagefind = await import(bundle + "pagefind.js");
            await pagefind.options({ basePath: bundle, excerptLength: 30 });
            await pagefind.filters();  // its filter chunks: the counts need them
            const out = [];
            for (const [query, filters] of queries) {
                const any = Object.fromEntries(
                    Object.entries(filters).map(([name, values]) => [name, { any: values }]));
                const search = await pagefind.search(query || null, { filters: any });
                const top = await Promise.all(search.results.slice(0, 10).map((r) => r.data()));
                out.push({ count: search.results.length, titles: top.map((d) => d.meta.title),
                           facets: search.filters });
            }
            return out;
        }""",
        [f"/{SINGLE}/", QUERIES],
    )


def agreement(browser: Any, public: Path) -> dict[str, Any]:
    """Run the queries on both; the known items must be in the top 3 of both. The rest is
    measured: the share of queries with the same count of results and the same count
    for every filter value, and the top 10's overlap. Counts can differ where Pagefind
    misses a word's extensions that sit in another index chunk than the word, which
    differs from index to index; ranks, where the search page's correction of each
    shard's scores to the site's word statistics is not exact (docs/design.md)."""
    server, url = serve_in_background(public, "/")
    try:
        page = browser.new_page()
        sharded = [page_answer(page, url, query, filters) for query, filters in QUERIES]
        single = single_answers(page, url)
        page.close()
    finally:
        server.shutdown()
    overlaps, same_counts = [], 0
    for (query, _), mine, one in zip(QUERIES, sharded, single, strict=True):
        facets = {
            name: {value: one["facets"].get(name, {}).get(value, 0) for value in counts}
            for name, counts in mine["facets"].items()
        }
        same = mine["count"] == one["count"] and mine["facets"] == facets
        same_counts += same
        if one["titles"]:
            overlaps.append(len(set(mine["titles"]) & set(one["titles"])) / len(one["titles"]))
        if query in KNOWN:
            assert KNOWN[query] in mine["titles"][:3] and KNOWN[query] in one["titles"][:3]
    return {
        "overlap": statistics.mean(overlaps),
        "answered": len(overlaps),
        "same counts": same_counts / len(QUERIES),
    }


@pytest.fixture
def small_shards(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(search, "SETTLED", 20)
    monkeypatch.setattr(search, "RECENT", 8)
    yield


@pytest.mark.browser
def test_the_example_in_shards_answers_as_one_index(
    site: Path, browser: Any, small_shards: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    public = build_site(site)
    assert sorted(p.name for p in (public / "pagefind").iterdir()) == ["1", "2", "3", "4"]
    with_single_index(site, public, monkeypatch)
    found = agreement(browser, public)
    print(f"\nsearch shards, example in 4 shards: {found}")
    assert found["answered"] >= 30
    assert found["same counts"] >= 0.9 and found["overlap"] >= 0.8


@pytest.mark.browser
def test_ten_thousand_papers_in_shards_answer_as_one_index(
    tmp_path: Path, browser: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = copy_site(tmp_path / "site")
    grown_digests(root, 10_000)
    public = build_site(root)
    assert len(list((public / "pagefind").iterdir())) == len(search.shard_sizes(10_067)) > 3
    with_single_index(root, public, monkeypatch)
    found = agreement(browser, public)
    print(f"\nsearch shards, 10,067 papers: {found}")
    assert found["answered"] >= 30
    assert found["same counts"] >= 0.9 and found["overlap"] >= 0.8
    # Newest first, over the shards: the dates of two pages of results never go up.
    server, url = serve_in_background(public, "/")
    try:
        page = browser.new_page()
        page.goto(f"{url}search/?q=depth&sort=date")  # 12 among the newest 67
        page.wait_for_selector("#search-results li.more button")
        page.click("#search-results li.more button")
        wait_until(page, "document.querySelectorAll('#search-results li.result').length == 20")
        shown = page.locator(".result .card-meta").all_inner_texts()
        page.close()
    finally:
        server.shutdown()
    dates = [dt.datetime.strptime(m.split(" · ")[0], "%d %B %Y").date() for m in shown]
    assert dates == sorted(dates, reverse=True) and dates[0] == dt.date(2026, 3, 11)
    assert dates[-1] < dates[0]  # the newest shard's papers, then the next shard's


# ---- what a rebuild re-indexes ---------------------------------------------------------------


def bundle_states(public: Path) -> dict[str, int]:
    """Each shard's folder and the time its entry file was written."""
    return {
        folder.name: (folder / "pagefind-entry.json").stat().st_mtime_ns
        for folder in sorted((public / "pagefind").iterdir())
    }


def test_a_new_digest_reindexes_only_the_newest_shard(site: Path, small_shards: None) -> None:
    public = build_site(site)
    before = bundle_states(public)
    assert list(before) == ["1", "2", "3", "4"]  # 20, 20, 20 and the 7 newest
    digest = site / "new.txt"
    digest.write_text(
        "Mar 12\n\nA Brand New Paper About Quokkas\n\nIts abstract names quokkas.\n",
        encoding="utf-8",
    )
    ingest([digest], site / "content", today=dt.date(2026, 3, 12))
    build_site(site)
    after = bundle_states(public)
    assert {k for k in before if after.get(k) == before[k]} == {"1", "2", "3"}
    assert search.indexed_pages(public / "pagefind/4") == 8


def test_a_change_every_record_shows_reindexes_every_shard(site: Path, small_shards: None) -> None:
    """What every paper's record shows changed (here its template): every shard is
    made again, and the search finds the new text."""
    public = build_site(site)
    before = bundle_states(public)
    record = site / "templates/search-record.html"
    record.write_text(record.read_text("utf-8").replace("</main>", "<p>Wombat</p></main>"), "utf-8")
    build_site(site)
    after = bundle_states(public)
    assert after.keys() == before.keys() and all(after[k] != before[k] for k in before)


def test_a_rebuild_without_changes_to_indexed_text_keeps_every_shard(
    site: Path, small_shards: None
) -> None:
    """An edit that no search record shows (a template of the paper pages) re-indexes
    nothing, and the site still holds every shard."""
    public = build_site(site)
    before = bundle_states(public)
    paper_template = site / "templates/paper.html"
    paper_template.write_text(
        paper_template.read_text("utf-8").replace("Related papers", "Papers like this"), "utf-8"
    )
    build_site(site)
    assert bundle_states(public) == before
    assert "Papers like this" in next((public / "papers").glob("*/index.html")).read_text("utf-8")


def test_a_build_restored_from_the_ci_cache_reindexes_only_the_newest_shard(
    tmp_path: Path, small_shards: None
) -> None:
    """As .github/workflows/pages.yml runs: a fresh checkout, the last build's site,
    manifest and cache restored from a tar archive (as actions/cache does), a new digest.
    Only the newest shard is made again, and the site equals a clean build's."""
    root = copy_site(tmp_path / "repo")
    build_site(root)
    kept = ["public", ".public.manifest.json", ".labdigest-cache"]
    with tarfile.open(tmp_path / "cache.tar", "w") as archive:
        for name in kept:
            archive.add(root / name, arcname=name)
    shutil.rmtree(root)
    copy_site(root)  # the checkout: every file new
    with tarfile.open(tmp_path / "cache.tar") as archive:
        archive.extractall(root, filter="tar")
    before = bundle_states(root / "public")
    digest = root / "content/digests/hf-2026-03-12.txt"
    digest.write_text("Mar 12\n\nA Paper About Quokkas\n\nIts abstract.\n", encoding="utf-8")
    ingest([digest], root / "content", today=dt.date(2026, 3, 12))
    public = build_site(root)
    after = bundle_states(public)
    assert {k for k in before if after.get(k) == before[k]} == {"1", "2", "3"}
    clean = build_site(root, out=tmp_path / "clean")
    assert stable(tree_bytes(public)) == stable(tree_bytes(clean))

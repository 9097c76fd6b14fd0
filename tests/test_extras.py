"""What a research group gets beyond a page per paper: related papers, feeds, discovery
metadata, citations, the newsletter, the lab view, notes, what's new, data export and
reading comfort, each checked through the built site with real parsers."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import feedparser
import pytest
from bs4 import BeautifulSoup
from pybtex.database import parse_string

from conftest import EXAMPLE, REPO, add_front_matter, build_site, copy_site
from labdigest import content, feeds
from labdigest.cache import Cache
from labdigest.ingest import ingest
from labdigest.models import Paper
from labdigest.related import related
from labdigest.topics import paper_text_key

DEPTHMASTER = "depthmaster-taming-diffusion-models-for-monocular-depth-estimation"


def soup_of(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def html_pages(public: Path) -> list[Path]:
    return [
        p
        for p in sorted(public.rglob("*.html"))
        if "pagefind" not in p.parts and p.name != "email.html"
    ]


# ---- related papers -------------------------------------------------------------------------


def test_every_paper_page_lists_five_related_papers(example_public: Path) -> None:
    for page in (example_public / "papers").glob("*/index.html"):
        links = [a["href"] for a in soup_of(page).select(".related .card-title a")]
        assert len(links) == 5, page
        assert f"/papers/{page.parent.name}/" not in links
        assert len(set(links)) == 5


def test_related_papers_are_similar_and_independent_of_order() -> None:
    papers = content.load_papers(EXAMPLE / "content")
    forward = related(tuple(papers))
    backward = related(tuple(reversed(papers)))
    assert forward == backward
    by_slug = {p.slug: p for p in papers}
    titles = [by_slug[s].title.lower() for s in forward[DEPTHMASTER]]
    assert sum(("depth" in t or "geometr" in t) for t in titles) >= 3


@pytest.mark.parametrize("columns", [2, 3, 29, 67, 415, 416, 1000, 1013])
def test_each_rows_best_columns_are_those_of_a_full_sort(columns: int) -> None:
    """A row's k best are looked for among a few groups of columns (ranking._top); with
    ties, zero rows and widths that do not divide into groups, they must be exactly the
    k best of the whole row: highest rounded score first, ties to the lower column."""
    import numpy as np

    from labdigest import ranking

    random = np.random.default_rng(columns)
    rows = 60
    block = random.random((rows, columns))
    block[block < 0.7] = 0.0  # most pairs share no term
    block[: rows // 3] = np.round(block[: rows // 3], 1)  # many equal scores
    block[rows // 3 : rows // 2] += 4e-7 * random.integers(0, 3, (rows // 2 - rows // 3, 1))
    block[-1] = 0.0  # a paper sharing no term with any other
    block[-2, : columns // 2] = 0.5  # ties wider than any group
    block[np.arange(rows), np.arange(rows) % columns] = -1.0  # the paper itself
    everything = np.broadcast_to(np.arange(columns), block.shape)
    for k in (1, 5, 20):
        expected = ranking._best(everything, np.round(block, ranking.SCORE_DIGITS), k)
        found = ranking._top(block, k)
        assert np.array_equal(found[0], expected[0]), k
        assert np.array_equal(found[1], expected[1]), k


def test_related_papers_after_edits_equal_a_clean_ranking(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rebuild re-ranks only the rows an edit moves and merges the rest from the cache:
    after each kind of edit it must give exactly what ranking from nothing gives."""
    import dataclasses

    import numpy as np

    from labdigest import ranking

    papers = sorted(content.load_papers(EXAMPLE / "content"), key=lambda p: p.slug)
    cache = Cache(tmp_path)
    # The example has 67 papers: let every edit take the incremental path, and a clean
    # ranking take its rows ten at a time, as a large site's does.
    monkeypatch.setattr(ranking, "MOST_MOVED", 1.0)
    monkeypatch.setattr(ranking, "DENSE_CELLS", 670)
    # Terms weighed by the oldest 64 papers, as a large site's by its oldest 2^n.
    monkeypatch.setattr(ranking, "IDF_OVER_ALL_BELOW", 16)
    related(tuple(papers), cache=cache)
    clean_rankings = []
    real_rank = ranking.rank
    monkeypatch.setattr(ranking, "rank", lambda *a: clean_rankings.append(1) or real_rank(*a))

    def edit(index: int, **changes: str) -> None:
        papers[index] = dataclasses.replace(papers[index], **changes)

    twin, original, alone = papers[30].slug, papers[31].slug, papers[5].slug

    edits = [
        lambda: edit(3, body=papers[3].body + " Edited."),  # a word no other paper has
        # the same words, more often: no other row moves, but this one rises in theirs
        lambda: edit(12, body=papers[12].body + f" {papers[12].title}" * 4),
        lambda: edit(44, body=papers[44].body + f" {papers[44].title}" * 4),
        lambda: edit(10, body=papers[10].body.replace("depth", "width")),  # common words
        lambda: edit(20, title=papers[20].title + " for Monocular Depth Estimation"),
        lambda: edit(30, title=papers[31].title, body=papers[31].body),  # a twin: ties
        lambda: [edit(i, body=" ".join(papers[i].body.split()[5:])) for i in (1, 40, 60)],
        lambda: edit(5, title="Qwzx", body="Zzyzx vrrp."),  # no related paper at all
        # a new digest: a paper like another, one with words no paper had; then a twin
        lambda: add(papers[8], "zz-new-1", papers[8].title + " Again"),
        lambda: add(papers[9], "zz-new-2", "Qwzx Vrrp Depth"),
        lambda: add(papers[30], "aa-twin", papers[30].title),
        lambda: papers.pop(papers.index(by_slug("zz-new-1"))),  # a paper deleted
        lambda: papers.pop(10),  # one of the oldest, which weigh the terms
        lambda: edit(0, date="2027-01-01"),  # no longer among the oldest
    ]

    def add(like: Paper, slug: str, title: str) -> None:
        papers.append(dataclasses.replace(like, slug=slug, title=title, date="2026-12-01"))
        papers.sort(key=lambda p: p.slug)

    def by_slug(slug: str) -> Paper:
        return next(p for p in papers if p.slug == slug)

    for number, change in enumerate(edits):
        change()
        incremental = related(tuple(papers), cache=cache)
        assert not clean_rankings, f"edit {number} was ranked from nothing"
        keys = [f"{p.date} {paper_text_key(p)}" for p in papers]
        clean = real_rank(papers, keys, 5)
        assert incremental == clean.result(), f"edit {number}"
        kept = cache.load("related", 5)
        assert np.array_equal(kept.scores, clean.scores), f"edit {number}: scores"
    final = related(tuple(papers), cache=cache)
    assert final[twin][:2] == tuple(sorted(["aa-twin", original]))
    assert final[alone] == ("zz-new-2",)  # a new paper in an old one's list


def test_a_new_digest_changes_only_the_related_lists_its_papers_enter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Terms are weighed by the oldest 2^n papers: a digest added leaves every old
    paper's related list as it was, unless one of the new papers entered it (counted
    over all papers, the weights moved with each digest and reordered near ties)."""
    import dataclasses

    from labdigest import ranking

    monkeypatch.setattr(ranking, "IDF_OVER_ALL_BELOW", 16)  # the oldest 64 of 67 and more
    papers = sorted(content.load_papers(EXAMPLE / "content"), key=lambda p: p.slug)
    before = related(tuple(papers))
    new = [
        dataclasses.replace(p, slug=f"{p.slug}-sequel", title=f"{p.title} II", date="2026-12-01")
        for p in papers[::12]
    ]
    after = related(tuple(papers + new))
    new_slugs = {p.slug for p in new}
    entered = {slug for slug in before if new_slugs.intersection(after[slug])}
    assert entered  # (the sequels are like their papers)
    assert all(after[slug] == before[slug] for slug in before if slug not in entered)
    # Weighed by all papers, lists the new papers did not enter change too.
    monkeypatch.setattr(ranking, "IDF_OVER_ALL_BELOW", 1_000)
    before, after = related(tuple(papers)), related(tuple(papers + new))
    changed = {slug for slug in before if after[slug] != before[slug]}
    assert changed - {slug for slug in before if new_slugs.intersection(after[slug])}


@pytest.mark.parametrize("dense_cells", [None, 500])
def test_a_new_digest_past_2048_papers_is_ranked_incrementally_as_a_clean_ranking(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dense_cells: int | None
) -> None:
    """With the shipped settings: 2,144 papers (the example's, 32 times over with other
    titles), then a 67-paper digest of a later date. The rebuild re-ranks from the cached
    ranking, not from nothing, and lists exactly what ranking from nothing lists; also
    when the kept rows are merged with the new ones a few rows at a time (dense_cells)."""

    from labdigest import ranking

    if dense_cells:
        monkeypatch.setattr(ranking, "DENSE_CELLS", dense_cells)

    example = content.load_papers(EXAMPLE / "content")
    words = ["quokka", "lidar", "sparse", "tiling", "echo", "prism", "basin", "fjord"]

    def copies(number: int, date: str) -> list[Paper]:
        return [
            dataclasses.replace(
                p,
                slug=f"{p.slug}-{date}-{number}",
                title=f"{p.title} {words[number % 8]} {words[(number // 8) % 8]}",
                date=date,
            )
            for p in example
        ]

    papers = [p for number in range(32) for p in copies(number, "2026-03-11")]
    cache = Cache(tmp_path)
    related(tuple(papers), cache=cache)
    from_nothing = []
    real_rank = ranking.rank
    monkeypatch.setattr(ranking, "rank", lambda *a: from_nothing.append(1) or real_rank(*a))
    papers += copies(40, "2026-03-12")
    incremental = related(tuple(papers), cache=cache)
    assert not from_nothing, "the new digest was ranked from nothing"
    assert incremental == related(tuple(papers))


def test_a_worker_ranks_from_the_changed_texts_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large site's related papers are ranked by a worker, sent only the texts changed
    since the kept links were ranked (all of them are 150 MB of pickle at 100,000
    papers). If the kept ranking is not the one those links came from (deleted by hand),
    the worker lacks texts: the papers are ranked here. Either way, the links are those
    of a clean ranking."""
    from labdigest import parallel
    from labdigest import related as related_module

    monkeypatch.setattr(parallel, "force", True)
    papers = sorted(content.load_papers(EXAMPLE / "content"), key=lambda p: p.slug)
    cache = Cache(tmp_path)
    sent_whole: list[int] = []
    real_later = parallel.Pool.later

    def later(pool: parallel.Pool, size: int, function: Any, *args: Any) -> Any:
        sent_whole.append(sum(isinstance(p, Paper) for p in args[0]))
        return real_later(pool, size, function, *args)

    monkeypatch.setattr(parallel.Pool, "later", later)

    def ranked_by_worker() -> dict[str, tuple[str, ...]]:
        with parallel.Pool() as pool:
            return related_module.meanwhile(tuple(papers), cache=cache, pool=pool)()

    assert ranked_by_worker() == related(tuple(papers))
    papers[3] = dataclasses.replace(papers[3], body=papers[3].body + " Zzyzx vrrp.")
    assert ranked_by_worker() == related(tuple(papers))
    (cache.folder / "related.pickle").unlink()
    papers[9] = dataclasses.replace(papers[9], title="Qwzx Depth")
    assert ranked_by_worker() == related(tuple(papers))
    assert sent_whole == [len(papers), 1, 1]


def test_scores_against_a_few_rows_are_those_of_ranking_them_all() -> None:
    """A rebuild scores the rows an edit moved against the others; a clean build scores
    every row against every other: the floats must be the same to the last bit, or
    rankings would drift from a clean build's; and they are cosines."""
    import numpy as np

    from labdigest import ranking

    papers = sorted(content.load_papers(EXAMPLE / "content"), key=lambda p: p.slug)
    matrix = ranking.rank(papers, [paper_text_key(p) for p in papers], 5).matrix
    everyone = np.arange(len(papers))
    everything = ranking._scores_against(matrix, everyone, everyone)
    dense = np.zeros(matrix.shape)
    dense[np.repeat(everyone, np.diff(matrix.indptr)), matrix.indices] = matrix.data
    assert np.allclose(everything, dense @ dense.T, rtol=0, atol=1e-12)
    assert np.allclose(np.diag(everything), 1.0)  # rows of length 1: cosines
    for others in (np.array([3, 40]), np.arange(0, len(papers), 2)):
        against = ranking._scores_against(matrix, everyone, others)
        assert np.array_equal(against, everything[:, others]), len(others)
        assert np.count_nonzero(against) > 20  # the papers do share terms


def test_the_best_of_rows_ranked_in_blocks_are_the_best_of_every_score(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Rows are ranked a block at a time (on every core for a large site): each row's k
    best must be exactly those of sorting every score (ties to the lower column, only
    scores that round above zero, never the paper itself), ties at the k-th place most
    of all, however the rows are split into blocks."""
    import numpy as np

    from labdigest import ranking

    generator = np.random.default_rng(7)
    short_rows = 0
    for papers, terms, per_row, k in [(300, 40, 3, 5), (300, 12, 6, 5), (120, 400, 2, 12)]:
        # Few distinct weights and few terms: equal scores everywhere, twins among them.
        lengths = generator.integers(0, per_row + 1, papers)
        columns = [np.sort(generator.choice(terms, n, replace=False)) for n in lengths]
        values = generator.choice([0.5, 0.25, 0.25 + 4e-7, 1e-7], int(lengths.sum()))
        matrix = ranking.Csr(
            values,
            np.concatenate(columns).astype(np.int32),
            np.concatenate([[0], np.cumsum(lengths)]),
            (papers, terms),
        )
        rows = np.sort(generator.choice(papers, 80, replace=False))
        dense = ranking._scores_against(matrix, rows, np.arange(papers))
        dense[np.arange(len(rows)), rows] = -1.0
        expected = ranking._top(dense, k)
        for rows_per_block in (7, 1024):
            monkeypatch.setattr(ranking, "DENSE_CELLS", rows_per_block * papers)
            found = ranking._rank_rows(matrix, rows, k)
            assert np.array_equal(found[0], expected[0]), (papers, terms, k, rows_per_block)
            assert np.array_equal(found[1], expected[1]), (papers, terms, k, rows_per_block)
            assert found[0].dtype == expected[0].dtype
        short_rows += int((found[0] == -1).any(axis=1).sum())
        assert (found[1][:, :-1] == found[1][:, 1:]).any()  # ties were among the best
    assert short_rows  # rows with fewer than k scores above zero were among them


def test_each_paper_keeps_its_most_telling_terms_however_its_rows_are_chunked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Only the cells at or above their row's TERMS_PER_PAPER-th weight are sorted: the
    terms kept, their weights and their order (heaviest first, ties to the lower column)
    must be those of sorting every cell, in rows shorter and longer than that, with ties
    at the last place kept, and rows partitioned a few at a time."""
    import numpy as np

    from labdigest import ranking

    generator = np.random.default_rng(5)
    papers, width = 40, 90
    lengths = generator.choice([0, 3, 24, 25, 40, 80], papers)
    rows = [np.sort(generator.choice(width, size, replace=False)) for size in lengths]
    counts = ranking.Csr(
        generator.choice([1, 1, 2, 3, 4, 5], int(lengths.sum())).astype(np.int32),  # ties
        np.concatenate(rows).astype(np.int32),
        np.concatenate([[0], np.cumsum(lengths)]),
        (papers, width),
    )
    idf = generator.choice(np.linspace(1.0, 4.0, 12), width)

    def every_cell_sorted() -> ranking.Csr:
        row_index = np.repeat(np.arange(papers), lengths)
        weights = (1.0 + np.log(counts.data)) * idf[counts.indices]
        order = np.lexsort((counts.indices, -weights, row_index))  # every cell sorted
        taken: dict[int, int] = {}
        chosen = []
        for cell in order.tolist():  # each row's first TERMS_PER_PAPER
            row = int(row_index[cell])
            taken[row] = taken.get(row, 0) + 1
            if taken[row] <= ranking.TERMS_PER_PAPER:
                chosen.append(cell)
        chosen_rows = row_index[chosen]
        values = weights[chosen]
        norms = np.sqrt(np.bincount(chosen_rows, weights=values * values, minlength=papers))
        norms[norms == 0] = 1.0
        pointers = np.concatenate([[0], np.cumsum(np.bincount(chosen_rows, minlength=papers))])
        return ranking.Csr(
            values / norms[chosen_rows], counts.indices[chosen], pointers, counts.shape
        )

    expected = every_cell_sorted()
    for rows_at_once in (3, 7, 8192):
        monkeypatch.setattr(ranking, "ROWS_AT_ONCE", rows_at_once)
        found = ranking._tfidf(counts, idf)
        assert np.array_equal(found.indptr, expected.indptr), rows_at_once
        assert np.array_equal(found.indices, expected.indices), rows_at_once
        assert np.array_equal(found.data, expected.data), rows_at_once
    assert (np.diff(expected.indptr) == ranking.TERMS_PER_PAPER).sum() > 5  # rows were cut


def test_rebuilds_after_a_notes_or_an_abstract_edit_import_only_what_they_need(
    site: Path,
) -> None:
    """Notes, topics and links leave titles and abstracts as they were: the rebuild takes
    the related papers from the cache, without NumPy and SciPy; an abstract edit ranks a
    few rows again; a rebuild with nothing changed
    imports no parser, template engine or worker pool at all (a fifth of a second)."""
    import subprocess
    import sys

    build_site(site, search=False)
    page = site / "public/papers/towards-exact-computation-of-inductive-bias/index.html"
    related_before = BeautifulSoup(page.read_bytes(), "html.parser").select(".related a")
    paper = site / "content/papers/towards-exact-computation-of-inductive-bias.md"
    add_front_matter(paper, "notes: Read for the reading group.\n")
    modules = ("jinja2", "markdown_it", "concurrent.futures", "numpy", "yaml")
    rebuild = (
        "import sys; from pathlib import Path; from labdigest.build import BuildOptions, build;"
        f"build(BuildOptions(config_path=Path({str(site / 'site.toml')!r}), search=False));"
        f"print(' '.join(m for m in {modules!r} if m in sys.modules))"
    )

    def imported_by_a_rebuild() -> list[str]:
        result = subprocess.run([sys.executable, "-c", rebuild], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        return result.stdout.split()

    after_notes_edit = imported_by_a_rebuild()
    assert "jinja2" in after_notes_edit  # (a rebuild, and its modules seen)
    assert "numpy" not in after_notes_edit
    # An abstract edit ranks the paper again.
    paper.write_text(paper.read_text("utf-8") + "\nEdited: zebra quokka.\n", "utf-8")
    assert "numpy" in imported_by_a_rebuild()
    assert imported_by_a_rebuild() == []  # nothing changed since
    soup = BeautifulSoup(page.read_bytes(), "html.parser")
    assert "Read for the reading group." in soup.select_one(".notes").get_text()
    assert soup.select(".related a") == related_before and related_before


# ---- feeds ------------------------------------------------------------------------------------


def test_feeds_are_valid_atom_with_complete_entries(example_public: Path) -> None:
    feeds = [example_public / "feed.xml", *sorted((example_public / "topics").glob("*/feed.xml"))]
    assert len(feeds) == 12
    for path in feeds:
        feed = feedparser.parse(path.read_bytes())
        assert feed.bozo == 0, (path, feed.get("bozo_exception"))
        assert feed.version == "atom10"
        assert feed.entries, path
        for entry in feed.entries:
            assert entry.id and entry.title and entry.link and entry.updated and entry.summary
            assert entry.link.startswith("https://digest.example.org/papers/")
    depth = feedparser.parse((example_public / "topics/depth-estimation/feed.xml").read_bytes())
    assert len(depth.entries) == 12 and depth.feed.title == "Lab Paper Digest: Depth estimation"


def test_pages_announce_their_feeds(example_public: Path) -> None:
    home = soup_of(example_public / "index.html")
    assert (
        home.select_one('link[rel=alternate][type="application/atom+xml"]')["href"] == "/feed.xml"
    )
    topic = soup_of(example_public / "topics/pose-estimation/index.html")
    hrefs = [
        link["href"] for link in topic.select('link[rel=alternate][type="application/atom+xml"]')
    ]
    assert hrefs == ["/feed.xml", "/topics/pose-estimation/feed.xml"]


# ---- discovery -----------------------------------------------------------------------------


def test_sitemap_lists_every_page_and_robots_points_to_it(example_public: Path) -> None:
    root = ET.fromstring((example_public / "sitemap.xml").read_bytes())
    namespace = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
    listed = {loc.text for loc in root.iter(f"{namespace}loc")}
    expected = {
        "https://digest.example.org/"
        + p.relative_to(example_public).as_posix().removesuffix("index.html")
        for p in html_pages(example_public)
        if p.name != "404.html"
    }
    assert listed == expected
    assert (example_public / "robots.txt").read_text() == (
        "User-agent: *\nAllow: /\nSitemap: https://digest.example.org/sitemap.xml\n"
    )


def test_a_site_of_more_pages_than_a_sitemap_may_list_gets_a_sitemap_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """sitemaps.org allows 50,000 addresses a sitemap (100,000 papers are more). With a
    limit of 40 for the test: sitemap.xml is an index of sitemaps at the site's root (a
    sitemap may only list addresses below its folder), each of 40 addresses at most,
    together the addresses one sitemap lists; back under the limit, the parts are gone."""
    site = copy_site(tmp_path / "site")
    public = build_site(site, search=False)
    namespace = "{http://www.sitemaps.org/schemas/sitemap/0.9}"

    def listed(path: Path) -> list[str]:
        return [str(loc.text) for loc in ET.fromstring(path.read_bytes()).iter(f"{namespace}loc")]

    whole = listed(public / "sitemap.xml")
    assert len(whole) > 80
    monkeypatch.setattr(feeds, "SITEMAP_URLS", 40)
    (site / "site.toml").write_text((site / "site.toml").read_text("utf-8") + "\n", "utf-8")
    build_site(site, search=False)
    index = ET.fromstring((public / "sitemap.xml").read_bytes())
    assert index.tag == f"{namespace}sitemapindex"
    parts = [f"sitemap-{number}.xml" for number in range(1, -(-len(whole) // 40) + 1)]
    assert listed(public / "sitemap.xml") == [f"https://digest.example.org/{p}" for p in parts]
    assert sorted(p.name for p in public.glob("sitemap*.xml")) == sorted(["sitemap.xml", *parts])
    assert all(len(listed(public / part)) <= 40 for part in parts)
    assert [url for part in parts for url in listed(public / part)] == whole
    monkeypatch.setattr(feeds, "SITEMAP_URLS", 50_000)
    (site / "site.toml").write_text((site / "site.toml").read_text("utf-8") + "\n", "utf-8")
    build_site(site, search=False)
    assert listed(public / "sitemap.xml") == whole
    assert [p.name for p in public.glob("sitemap*.xml")] == ["sitemap.xml"]


def test_every_page_has_title_description_canonical_and_opengraph(example_public: Path) -> None:
    for page in html_pages(example_public):
        soup = soup_of(page)
        assert soup.title.get_text().strip(), page
        assert soup.find("meta", attrs={"name": "description"})["content"].strip(), page
        for prop in ["og:title", "og:description", "og:type", "og:site_name"]:
            assert soup.find("meta", property=prop)["content"].strip(), (page, prop)
        if page.name != "404.html":
            canonical = soup.find("link", rel="canonical")["href"]
            assert canonical == soup.find("meta", property="og:url")["content"]
            assert canonical.startswith("https://digest.example.org/")


def test_paper_pages_carry_scholarly_article_json_ld(example_public: Path) -> None:
    soup = soup_of(example_public / "papers" / DEPTHMASTER / "index.html")
    data = json.loads(soup.find("script", type="application/ld+json").string)
    assert data["@type"] == "ScholarlyArticle" and data["@context"] == "https://schema.org"
    assert data["name"] == "DepthMaster: Taming Diffusion Models for Monocular Depth Estimation"
    assert data["abstract"].startswith("Monocular depth estimation within")
    assert data["url"] == f"https://digest.example.org/papers/{DEPTHMASTER}/"
    assert soup.find("meta", attrs={"name": "citation_title"}) is None  # opt-in


def test_scholar_tags_are_opt_in(site: Path) -> None:
    toml = site / "site.toml"
    toml.write_text(
        toml.read_text(encoding="utf-8").replace("scholar_tags = false", "scholar_tags = true"),
        encoding="utf-8",
    )
    public = build_site(site, search=False)
    soup = soup_of(public / "papers" / DEPTHMASTER / "index.html")
    assert soup.find("meta", attrs={"name": "citation_title"})["content"].startswith("DepthMaster")
    assert soup.find("meta", attrs={"name": "citation_publication_date"})["content"] == "2026/03/11"


# ---- citations ------------------------------------------------------------------------------


def test_bibtex_files_parse_and_keys_are_unique(example_public: Path) -> None:
    bibs = [
        *(example_public / "papers").glob("*/cite.bib"),
        *(example_public / "topics").glob("*/papers.bib"),
        *(example_public / "digests").glob("*/papers.bib"),
    ]
    assert len(bibs) == 67 + 11 + 1
    for path in bibs:
        database = parse_string(path.read_text(encoding="utf-8"), "bibtex")
        assert database.entries, path
    everything = parse_string(
        (example_public / "digests/hf-papers-mar-11/papers.bib").read_text(encoding="utf-8"),
        "bibtex",
    )
    assert len(everything.entries) == 67
    entry = parse_string(
        (example_public / "papers" / DEPTHMASTER / "cite.bib").read_text(encoding="utf-8"), "bibtex"
    )
    ((key, fields),) = entry.entries.items()
    assert key == "anon2026depthmaster"
    assert (
        fields.fields["title"]
        == "{DepthMaster: Taming Diffusion Models for Monocular Depth Estimation}"
    )


def test_arxiv_papers_get_the_arxiv_misc_form(site: Path) -> None:
    paper = site / "content/papers" / f"{DEPTHMASTER}.md"
    add_front_matter(
        paper,
        "authors:\n- Ziyang Song\n- Zerong Wang\narxiv: '2501.02576'\nprimary_category: cs.CV\n",
    )
    public = build_site(site, search=False)
    database = parse_string(
        (public / "papers" / DEPTHMASTER / "cite.bib").read_text(encoding="utf-8"), "bibtex"
    )
    ((key, entry),) = database.entries.items()
    assert key == "song2025depthmaster" and entry.type == "misc"
    assert (
        entry.fields["eprint"],
        entry.fields["archivePrefix"],
        entry.fields["primaryClass"],
    ) == ("2501.02576", "arXiv", "cs.CV")
    assert [str(p) for p in entry.persons["author"]] == ["Song, Ziyang", "Wang, Zerong"]


@pytest.mark.browser
def test_copy_button_copies_the_bibtex(browser: Any, example_public: Path) -> None:
    from labdigest.serve import serve_in_background

    server, url = serve_in_background(example_public, "/")
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    try:
        page = context.new_page()
        page.goto(f"{url}papers/{DEPTHMASTER}/")
        button = page.locator("button[data-copy=bibtex]")
        assert button.is_visible()
        button.click()
        assert page.evaluate("navigator.clipboard.readText()") == page.inner_text("#bibtex")
        assert button.inner_text() == "Copied"
    finally:
        context.close()
        server.shutdown()


# ---- newsletter -----------------------------------------------------------------------------


def test_email_is_single_column_inline_styled_absolute_and_small(example_public: Path) -> None:
    path = example_public / "digests/hf-papers-mar-11/email.html"
    assert path.stat().st_size < 100_000
    soup = soup_of(path)
    assert (
        soup.find("style") is None
        and soup.find("link", rel="stylesheet") is None
        and soup.find("script") is None
    )
    assert soup.find("table", attrs={"width": "600"}) is not None
    assert "display:none" in soup.body.find("div")["style"]  # the preheader
    assert "67 papers in the digest of 11 March 2026" in soup.body.find("div").get_text()
    links = [a["href"] for a in soup.find_all("a")]
    assert len(links) == 67 + 3 and all(h.startswith("https://digest.example.org/") for h in links)
    assert len(soup.find_all("h2")) == 67
    text = (example_public / "digests/hf-papers-mar-11/email.txt").read_text(encoding="utf-8")
    assert text.startswith("Lab Paper Digest: digest of 11 March 2026\n67 papers.")
    assert f"https://digest.example.org/papers/{DEPTHMASTER}/" in text
    assert "&amp;" not in text


def test_a_large_digest_email_stays_under_100_kb(tmp_path: Path) -> None:
    root = copy_site(tmp_path / "site", content=False)
    digest = root / "content/digests/big.txt"
    papers = [
        f"Paper Number {i} About Depth\n\n{'A long abstract sentence about depth. ' * 20}"
        for i in range(150)
    ]
    digest.write_text("Mar 11\n\n" + "\n\n".join(papers) + "\n", encoding="utf-8")
    ingest([digest], root / "content", today=dt.date(2026, 11, 28))
    public = build_site(root, search=False)
    path = public / "digests/big/email.html"
    assert path.stat().st_size < 100_000
    text = path.read_text(encoding="utf-8")
    shown = text.count("<h2 ")
    assert 60 < shown < 150 and f"And {150 - shown} more papers on the site." in text
    home = soup_of(public / "index.html")
    assert len(home.select(".compact")) == 24  # the rest are on the digest's page
    assert home.select_one(".more-link a")["href"] == "/digests/big/"
    assert home.select_one(".more-link a").get_text() == "126 more in the digest"


# ---- lab view, notes, what's new ------------------------------------------------------


def test_lab_members_are_highlighted_and_listed(site: Path) -> None:
    toml = site / "site.toml"
    toml.write_text(
        toml.read_text(encoding="utf-8").replace("members = []", 'members = ["José Martínez"]'),
        encoding="utf-8",
    )
    paper = site / "content/papers" / f"{DEPTHMASTER}.md"
    add_front_matter(paper, "authors:\n- Ada Lovelace\n- jose  MARTINEZ\n")
    public = build_site(site, search=False)
    page = soup_of(public / "papers" / DEPTHMASTER / "index.html")
    assert [s.get_text() for s in page.select(".authors strong.member")] == ["jose MARTINEZ"]
    lab = soup_of(public / "lab/index.html")
    assert [a.get_text() for a in lab.select(".card-title a")] == [
        "DepthMaster: Taming Diffusion Models for Monocular Depth Estimation"
    ]
    assert " ".join(lab.select_one(".members").get_text().split()) == "José Martínez 1 paper"
    email = soup_of(public / "digests/hf-papers-mar-11/email.html")
    assert [s.get_text() for s in email.find_all("strong")] == ["jose MARTINEZ"]


def test_notes_render_as_lab_notes_on_the_paper_page(site: Path) -> None:
    paper = site / "content/papers" / f"{DEPTHMASTER}.md"
    add_front_matter(
        paper, "notes: |\n  We should *try* the Fourier module on our rig. <script>x()</script>\n"
    )
    public = build_site(site, search=False)
    soup = soup_of(public / "papers" / DEPTHMASTER / "index.html")
    notes = soup.select_one("main .notes")
    assert notes.h2.get_text() == "Lab notes"
    assert notes.find("em").get_text() == "try" and notes.find("script") is None


def test_home_marks_new_only_the_papers_no_earlier_digest_had(site: Path) -> None:
    second = site / "content/digests/hf-2026-03-12.txt"
    second.write_text(
        "Mar 12\n\nA Brand New Paper\n\nIts abstract.\n\n"
        "DepthMaster: Taming Diffusion Models for Monocular Depth Estimation\n\nSame again.\n",
        encoding="utf-8",
    )
    ingest([second], site / "content", today=dt.date(2026, 11, 28))
    public = build_site(site, search=False)
    home = soup_of(public / "index.html")
    items = {
        " ".join(li.select_one(".card-title a").get_text().split()): li
        for li in home.select(".compact")
    }
    assert list(items) == [
        "DepthMaster: Taming Diffusion Models for Monocular Depth Estimation",
        "A Brand New Paper",
    ]  # by topic: depth estimation first, the paper in no topic last
    assert items["A Brand New Paper"].select_one(".new-badge") is not None
    depthmaster = items["DepthMaster: Taming Diffusion Models for Monocular Depth Estimation"]
    assert depthmaster.select_one(".new-badge") is None  # seen in the digest before
    assert "1 new" in home.select_one(".lede").get_text()


# ---- data export and reading comfort ----------------------------------------------------


def test_papers_json_exports_every_paper(example_public: Path) -> None:
    data = json.loads((example_public / "papers.json").read_text(encoding="utf-8"))
    assert len(data["papers"]) == 67
    record = next(p for p in data["papers"] if p["slug"] == DEPTHMASTER)
    assert record["title"] == "DepthMaster: Taming Diffusion Models for Monocular Depth Estimation"
    assert record["topics"] == ["depth-estimation", "diffusion-models"]
    assert (
        record["url"] == f"https://digest.example.org/papers/{DEPTHMASTER}/"
        and len(record["related"]) == 5
    )


@pytest.mark.parametrize("count", [0, 1, 2, 3])
def test_papers_json_holds_one_line_a_paper_for_any_number(count: int) -> None:
    """Written in parts, line by line: a site with no paper, one, or a few gives valid
    JSON, one paper a line."""
    records = [{"slug": f"paper-{n}", "title": f"Paper «{n}»"} for n in range(count)]
    text = b"".join(feeds.papers_json(feeds.papers_json_line(r) for r in records)).decode()
    assert json.loads(text) == {"papers": records}
    assert text.startswith('{"papers": [\n') and text.endswith("\n]}\n")
    assert sum('"slug"' in line for line in text.splitlines()) == count


def test_long_abstracts_and_author_lists_fold(site: Path) -> None:
    paper = site / "content/papers" / f"{DEPTHMASTER}.md"
    authors = "".join(f"- Author Number{i}\n" for i in range(12))
    add_front_matter(paper, f"authors:\n{authors}")
    public = build_site(site, search=False)
    soup = soup_of(public / "papers" / DEPTHMASTER / "index.html")
    assert (
        soup.select_one(".abstract details.abstract-fold summary").get_text()
        == "Show the full abstract"
    )
    assert soup.select_one(".authors details summary").get_text() == "and 4 more"
    (site / "content/papers/short.md").write_text(
        "---\ntitle: Short\ndate: 2026-03-11\ndigests:\n- hf-papers-mar-11\n---\n\nA short abstract.\n",
        encoding="utf-8",
    )
    public = build_site(site, search=False)
    short = soup_of(public / "papers/short/index.html")
    assert short.select_one(".abstract details") is None
    assert short.select_one(".abstract p").get_text() == "A short abstract."


def test_paper_pages_weigh_under_30_kb_with_css_and_need_no_script(example_public: Path) -> None:
    css = (example_public / "assets/style.css").stat().st_size
    for page in (example_public / "papers").glob("*/index.html"):
        assert page.stat().st_size + css < 30_000, page
        scripts = [
            s.get("src")
            for s in soup_of(page).find_all("script")
            if s.get("type") != "application/ld+json"
        ]
        assert scripts == ["/assets/site.js"]


# ---- accessibility ------------------------------------------------------------------------

AXE = REPO / ".cache/axe/node_modules/axe-core/axe.min.js"
AXE_PAGES = [
    "",
    f"papers/{DEPTHMASTER}/",
    "topics/depth-estimation/",
    "digests/hf-papers-mar-11/",
    "search/?q=depth",
    "404.html",
]


def each_example_page(
    browser: Any, public: Path, **context_options: Any
) -> Iterator[tuple[str, Any]]:
    """(path, page) for each of AXE_PAGES, served from `public`, search results loaded."""
    from labdigest.serve import serve_in_background

    server, url = serve_in_background(public, "/")
    context = browser.new_context(**context_options)
    try:
        page = context.new_page()
        for path in AXE_PAGES:
            page.goto(url + path)
            if path.startswith("search/"):
                page.wait_for_selector("#search-results li.result")
            yield path, page
    finally:
        context.close()
        server.shutdown()


@pytest.mark.browser
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_accessibility_violations(browser: Any, example_public: Path, scheme: str) -> None:
    if not AXE.is_file():
        message = f"axe-core is missing at {AXE} (make test installs it with npm)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    found = []
    for path, page in each_example_page(browser, example_public, color_scheme=scheme):
        page.evaluate(AXE.read_text(encoding="utf-8"))
        result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        found += [(path, v["id"], v["impact"], len(v["nodes"])) for v in result["violations"]]
    assert found == []


@pytest.mark.browser
def test_pages_fit_a_320_px_phone_without_sideways_scrolling(
    browser: Any, example_public: Path
) -> None:
    phone = {"width": 320, "height": 640}
    for path, page in each_example_page(browser, example_public, viewport=phone):
        width = page.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert width[0] <= width[1], (path, width)


def test_a_digest_of_hundreds_of_papers_keeps_the_home_page_small(tmp_path: Path) -> None:
    site = copy_site(tmp_path / "site", content=False)
    digest = site / "content/digests/big-2026-03-12.txt"
    entries = [
        f"Depth Estimation Study Number {n}\n\nWe study monocular depth estimation, case {n}, "
        "with a long abstract that goes on for a while to weigh like a real one does. " * 3
        for n in range(600)
    ]
    digest.write_text("Mar 12\n\n" + "\n\n".join(entries) + "\n", encoding="utf-8")
    ingest([digest], site / "content", today=dt.date(2026, 11, 28))
    public = build_site(site, search=False)
    home = (public / "index.html").read_bytes()
    assert len(home) < 100_000
    page = soup_of(public / "index.html")
    assert page.select_one(".topic-group .more-link a").get_text() == "576 more in the digest"


@pytest.mark.browser
def test_bibtex_scrolls_sideways_on_a_phone_and_its_lines_stay_whole(
    browser: Any, example_public: Path
) -> None:
    """At 375 px the BibTeX block keeps each line whole (a URL is not broken) and scrolls
    sideways inside itself; the copy button and the download link sit on one row."""
    from labdigest.serve import serve_in_background

    server, url = serve_in_background(example_public, "/")
    context = browser.new_context(viewport={"width": 375, "height": 667})
    try:
        page = context.new_page()
        page.goto(url + "papers/foundpose-unseen-object-pose-estimation-with-foundation-features/")
        shape = page.evaluate(
            """() => {
                const pre = document.getElementById('bibtex');
                const link = document.querySelector('.cite-actions a');
                const line = parseFloat(getComputedStyle(link).lineHeight) || 24;
                return {
                    whiteSpace: getComputedStyle(pre).whiteSpace,
                    scrolls: pre.scrollWidth > pre.clientWidth,
                    lines: pre.textContent.trim().split('\\n').length,
                    height: pre.clientHeight,
                    linkLines: link.getBoundingClientRect().height / line,
                    page: document.documentElement.scrollWidth,
                };
            }"""
        )
    finally:
        context.close()
        server.shutdown()
    assert shape["whiteSpace"] == "pre" and shape["scrolls"]
    assert shape["linkLines"] < 1.5  # "Download .bib" is not wrapped
    assert shape["page"] <= 375  # the page itself does not scroll sideways

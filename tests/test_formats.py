"""The digest formats labs receive: each sample in tests/data/formats/ follows the public
format and is read to exact fields; detection works from the content; the same paper
from two formats is one page."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from conftest import build_site, copy_site
from labdigest import content
from labdigest.errors import IngestError
from labdigest.ingest import formats, ingest
from labdigest.ingest.base import ReadResult, decode
from labdigest.ingest.tex import tex_to_unicode

DATA = Path(__file__).parent / "data" / "formats"


def read(name: str) -> ReadResult:
    path = DATA / name
    text = decode(path.read_bytes(), name)
    return formats.READERS[formats.detect(text, name)](text, name)


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("arxiv-email.txt", "arxiv-email"),
        ("hf-daily-papers.json", "hf-json"),
        ("arxiv-api.xml", "arxiv-atom"),
        ("arxiv-rss.xml", "arxiv-rss"),
        ("arxiv-rss-atom.xml", "arxiv-rss"),
        ("arxiv-rss-weekend.xml", "arxiv-rss"),
        ("biorxiv.json", "biorxiv"),
        ("biorxiv-empty.json", "biorxiv"),
        ("newsletter-cards.html", "html"),
        ("weekly-articles.html", "html"),
        ("arxiv-listing.html", "html"),
        ("papers-page.html", "html"),
    ],
)
def test_formats_are_detected_from_the_content_not_the_name(name: str, fmt: str) -> None:
    text = (DATA / name).read_text(encoding="utf-8")
    assert formats.detect(text, "digest.txt").value == fmt
    assert (
        formats.detect(
            (Path(__file__).parent.parent / "content/digests/hf-papers-mar-11.txt").read_text(
                encoding="utf-8"
            ),
            "x.json",
        ).value
        == "text"
    )


def test_arxiv_email() -> None:
    result = read("arxiv-email.txt")
    assert result.date is not None and (result.date.year, result.date.month, result.date.day) == (
        2025,
        1,
        15,
    )
    assert [str(p) for p in result.problems] == [
        "arxiv-email.txt:74: arXiv:2501.08500 has no Title: line; skipped"
    ]
    first, second, third, fourth, fifth, cross, replaced = result.entries
    assert first.arxiv == "2501.08123" and first.line == 14
    assert (
        first.title == "Depth Anything at Night: Robust Monocular Depth Estimation under Low Light"
    )
    assert first.authors == ("José Martínez", "Zoë Müller", "Bjørn Ødegård", "Wei Zhang")
    assert first.abstract == (
        "Monocular depth estimation degrades sharply at night. We propose a self-supervised adaptation "
        "that improves $\\delta_1$ accuracy by 12% on nuScenes-Night and generalizes to unseen cameras."
    )
    assert dict(first.extra) == {
        "categories": "cs.CV cs.LG",
        "comments": "14 pages, 9 figures; code at https://github.com/example/night-depth",
    }
    assert second.authors == ("François Dupont", "María José García")
    assert second.abstract.endswith("answering a question of Hyvärinen.")
    assert dict(second.extra) == {
        "categories": "stat.ML cs.LG math.ST",
        "journal_ref": "Ann. Statist. 53 (2025) 1-20",
        "doi": "10.1214/25-AOS0001",
        "msc_class": "62G05",
    }
    assert third.authors == ("Ayşe Yılmaz", "Søren Kierkegaard")
    assert (
        dict(third.extra)["acm_class"] == "I.4.8" and dict(third.extra)["report_no"] == "TR-2025-01"
    )
    assert (fourth.arxiv, fifth.arxiv) == ("2501.08400", "2501.08600")
    assert fifth.authors == ("Łukasz Nowak", "Ngọc Anh Trần", "Chloé Dubois")
    assert (cross.arxiv, dict(cross.extra)["listing"]) == ("2501.07999", "cross-listing")
    assert (replaced.arxiv, replaced.title, replaced.abstract, dict(replaced.extra)["listing"]) == (
        "2410.01234",
        "Benign Overfitting Revisited",
        "",
        "replaced",
    )


def test_hf_daily_papers_json() -> None:
    result = read("hf-daily-papers.json")
    assert result.date is not None and (result.date.year, result.date.month, result.date.day) == (
        2025,
        1,
        16,
    )
    assert [str(p) for p in result.problems] == [
        "hf-daily-papers.json: item 4: skipped, missing 'id'"
    ]
    video, withdrawn, icl, animals, old = result.entries
    assert (video.arxiv, video.title) == (
        "2501.09001",
        "Video Depth Anything 2: Consistent Depth for Hour-Long Videos",
    )
    assert video.authors == ("Zoë Ünal", "Jürgen Schmidhüber")  # the hidden author is left out
    assert video.abstract == (
        "We extend video depth estimation to hour-long videos with a streaming memory, "
        "keeping the error below $0.1$ relative (improving by 20%)."
    )
    assert video.links == (
        ("code", "https://github.com/example/vda2"),
        ("project", "https://example.github.io/vda2/"),
    )
    assert dict(video.extra) == {
        "upvotes": 42,
        "comments_count": 3,
        "published": "2025-01-15",
        "ai_summary": "Streaming memory makes video depth consistent over long videos.",
        "ai_keywords": ["video depth", "streaming memory"],
    }
    assert withdrawn.arxiv == "2501.09002" and dict(withdrawn.extra)["withdrawn"] == "2025-01-16"
    assert "upvotes" not in dict(withdrawn.extra)  # missing is missing, not zero
    assert dict(animals.extra)["upvotes"] == 0
    assert "comments_count" not in dict(icl.extra)
    assert old.arxiv == "hep-th/9901001"


def test_arxiv_api_atom() -> None:
    result = read("arxiv-api.xml")
    assert result.date is not None and (result.date.year, result.date.month, result.date.day) == (
        2025,
        1,
        15,
    )
    assert [str(p) for p in result.problems] == [
        "arxiv-api.xml: entry 6: skipped, id 'http://example.org/not-arxiv' is not an arXiv abstract URL"
    ]
    night, strings, defocus, lidar, underwater = result.entries
    assert (night.arxiv, night.title, night.authors) == (
        "2501.08123",
        "Depth Anything at Night: Robust Monocular Depth Estimation under Low Light",
        ("José Martínez", "Zoë Müller"),
    )
    assert night.links == (("pdf", "http://arxiv.org/pdf/2501.08123v2"),)
    assert dict(night.extra) == {
        "primary_category": "cs.CV",
        "categories": "cs.CV cs.LG",
        "comments": "14 pages, 9 figures",
        "published": "2025-01-14",
        "updated": "2025-01-15",
    }
    assert strings.arxiv == "hep-th/9901001" and strings.abstract.endswith(
        "in Gödel-type universes."
    )
    assert dict(strings.extra)["doi"] == "10.1103/PhysRevD.60.046001"
    assert dict(strings.extra)["journal_ref"] == "Phys. Rev. D 60 (1999) 046001"
    assert defocus.authors == ("Mei Lín", "Ravi Shankar")
    assert lidar.arxiv == "2501.09200" and underwater.authors == ("Thị Hồng Nguyễn",)
    assert (
        underwater.abstract
        == "Light attenuation under water is modeled in the loss; naïve baselines fail."
    )


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "arxiv-api-error.xml",
            "arxiv-api-error.xml: the arXiv API answered with an error: incorrect id format for 1234.12345",
        ),
        (
            "arxiv-api-empty.xml",
            "arxiv-api-empty.xml: the feed has no entries (the query matched nothing)",
        ),
    ],
)
def test_arxiv_api_errors_are_clear(name: str, message: str) -> None:
    with pytest.raises(IngestError) as error:
        read(name)
    assert str(error.value) == message


def test_arxiv_category_feed_rss() -> None:
    """rss.arxiv.org/rss/cs.CV+cs.LG: every item's id (version-less, its version kept),
    authors from dc:creator, categories, the abstract after "Abstract:", DOI and journal
    reference; cross-lists and replacements marked as the e-mail reader marks them."""
    result = read("arxiv-rss.xml")
    assert result.date is not None and (result.date.year, result.date.month, result.date.day) == (
        2025,
        1,
        15,
    )
    assert [str(p) for p in result.problems] == [
        "arxiv-rss.xml: item 5: skipped, arXiv:2501.09999 has no title or no abstract"
    ]
    night, lidar, strings, underwater = result.entries
    assert (night.arxiv, night.title, night.authors) == (
        "2501.08123",
        "Depth Anything at Night: Robust Monocular Depth Estimation under Low Light",
        ("José Martínez", "Zoë Müller"),
    )
    assert night.abstract.startswith("Monocular depth estimation degrades sharply at night.")
    assert "Announce Type" not in night.abstract and "arXiv:" not in night.abstract
    assert dict(night.extra) == {"version": 1, "categories": "cs.CV cs.LG"}
    assert lidar.authors == ("Mei Lín", "Ravi Shankar", "Ana Silva")
    assert dict(lidar.extra)["listing"] == "cross-listing"
    assert strings.arxiv == "hep-th/9901001" and strings.authors == ("Søren Ørsted",)
    assert dict(strings.extra) == {
        "version": 3,
        "categories": "hep-th",
        "doi": "10.1103/PhysRevD.60.046001",
        "journal_ref": "Phys. Rev. D 60 (1999) 046001",
        "listing": "replaced",
    }
    assert dict(underwater.extra)["listing"] == "replaced"  # a replaced cross-list


def test_arxiv_category_feed_atom() -> None:
    result = read("arxiv-rss-atom.xml")
    assert result.date is not None and (result.date.month, result.date.day) == (1, 16)
    metric, night = result.entries
    assert metric.authors == ("Yann Labbé", "Evin Pınar Örnek")
    assert (metric.arxiv, dict(metric.extra)) == (
        "2501.10001",
        {"version": 1, "categories": "cs.CV"},
    )
    assert night.arxiv == "2501.08123" and dict(night.extra)["version"] == 2


def test_a_weekend_feed_is_no_papers_and_a_failed_ingest(tmp_path: Path) -> None:
    with pytest.raises(IngestError) as error:
        read("arxiv-rss-weekend.xml")
    assert str(error.value) == (
        "arxiv-rss-weekend.xml: no papers in this feed "
        "(arXiv announces none on weekends and holidays)"
    )
    site = copy_site(tmp_path / "site", content=False)
    from labdigest.cli import main

    status = main(
        ["--config", str(site / "site.toml"), "ingest", str(DATA / "arxiv-rss-weekend.xml")]
    )
    assert status == 1


def test_a_replaced_paper_from_a_feed_is_the_page_it_was_and_nothing_is_duplicated(
    tmp_path: Path,
) -> None:
    """The RSS feed of one day, then the Atom feed of the next, which replaces a paper
    of the first: one page for it, in both digests; the new paper added."""
    site = copy_site(tmp_path / "site", content=False)
    digests = site / "content" / "digests"
    for name in ("arxiv-rss.xml", "arxiv-rss-atom.xml"):
        shutil.copy(DATA / name, digests / name)
        ingest([digests / name], site / "content")
    papers = {p.arxiv: p for p in content.load_papers(site / "content")}
    assert sorted(papers) == [
        "2412.01234",
        "2501.08123",
        "2501.09200",
        "2501.10001",
        "hep-th/9901001",
    ]
    night = papers["2501.08123"]
    assert night.digests == ("arxiv-rss", "arxiv-rss-atom")
    assert dict(night.extra)["version"] == 1  # as first read; an edit is never overwritten


def test_biorxiv_and_medrxiv_api() -> None:
    """api.biorxiv.org/details/…: the DOI (the paper's identity: it has no arXiv id),
    title, "Last, F." authors in the usual order, date, version, category, abstract, the
    journal's DOI once published, and links to the preprint on its own server."""
    result = read("biorxiv.json")
    assert result.date is not None and (result.date.month, result.date.day) == (1, 15)
    assert [str(p) for p in result.problems] == [
        "biorxiv.json: preprint 3: skipped, no DOI, title or abstract"
    ]
    zebrafish, mice, retina = result.entries
    assert zebrafish.arxiv is None
    assert zebrafish.authors == ("J. Martínez", "Z. Müller", "Y. Labbé")
    assert dict(zebrafish.extra) == {
        "doi": "10.1101/2025.01.13.632801",
        "published": "2025-01-14",
        "categories": "neuroscience",
        "version": 1,
    }
    assert zebrafish.links == (
        ("other", "https://www.biorxiv.org/content/10.1101/2025.01.13.632801v1"),
        ("pdf", "https://www.biorxiv.org/content/10.1101/2025.01.13.632801v1.full.pdf"),
    )
    assert dict(mice.extra)["published_doi"] == "10.1038/s41592-025-01234-5"
    assert retina.links[0][1].startswith("https://www.medrxiv.org/content/10.1101/2025.01.12.")
    with pytest.raises(IngestError, match="no papers in this response \\(no posts found\\)"):
        read("biorxiv-empty.json")


def test_a_preprint_is_known_by_its_doi_with_a_doi_link_and_bibtex(tmp_path: Path) -> None:
    site = copy_site(tmp_path / "site", content=False)
    digest = site / "content" / "digests" / "biorxiv.json"
    shutil.copy(DATA / "biorxiv.json", digest)
    ingest([digest], site / "content")
    again = site / "content" / "digests" / "biorxiv-2025-01-16.json"
    shutil.copy(DATA / "biorxiv.json", again)  # the same preprints, another day
    ingest([again], site / "content")
    papers = content.load_papers(site / "content")
    assert len(papers) == 3 and all(len(p.digests) == 2 for p in papers)
    manifest = (site / "content/manifests/biorxiv.yml").read_text(encoding="utf-8")
    assert "key: doi:10.1101/2025.01.13.632801" in manifest
    public = build_site(site, search=False)
    slug = next(p.slug for p in papers if p.title.startswith("Depth perception"))
    page = BeautifulSoup((public / f"papers/{slug}/index.html").read_bytes(), "html.parser")
    assert page.select_one('a[href="https://doi.org/10.1101/2025.01.13.632801"]') is not None
    bib = (public / f"papers/{slug}/cite.bib").read_text(encoding="utf-8")
    assert "doi = {10.1101/2025.01.13.632801}" in bib and "Martínez" in bib


def test_html_arxiv_listing() -> None:
    result = read("arxiv-listing.html")
    assert result.date is not None and (result.date.year, result.date.month, result.date.day) == (
        2025,
        1,
        15,
    )
    assert [str(p) for p in result.problems] == [
        "arxiv-listing.html:53: 'A Listing Entry Without Abstract' has no abstract; skipped"
    ]
    assert [(e.arxiv, e.title) for e in result.entries] == [
        (
            "2501.08123",
            "Depth Anything at Night: Robust Monocular Depth Estimation under Low Light",
        ),
        ("2501.08311", "6D Object Pose Estimation from a Single RGB Image"),
        ("2501.08600", "Vision-Language Models Learn Spatial Reasoning"),
        ("2501.08700", "Grokking Explained"),
        ("2501.08800", "Test-Time Adaptation at Scale"),
    ]
    assert result.entries[1].authors == ("Ayşe Yılmaz", "Søren Kierkegaard")
    assert (
        result.entries[2].abstract == "Training on synthetic scenes fixes spatial reasoning & more."
    )


def test_html_article_page() -> None:
    result = read("papers-page.html")
    assert [str(p) for p in result.problems] == [
        "papers-page.html:30: a paper with no title; skipped"
    ]
    assert [(e.arxiv, e.title, e.authors) for e in result.entries] == [
        (
            "2501.09001",
            "Video Depth Anything 2: Consistent Depth for Hour-Long Videos",
            ("Zoë Ünal", "Jürgen Schmidhüber"),
        ),
        (
            "2501.09003",
            "In-Context Learning Without Instructions",
            ("Anaïs Lefèvre", "Kenji Tanaka"),
        ),
        ("2501.09004", "Animal Pose Estimation in the Wild", ()),
        ("2501.09005", "Lab Notes on Diffusion Priors", ()),
        ("2501.09006", "Benchmarking Compositional Generalization", ()),
    ]


def test_html_repeated_cards_with_links_for_titles() -> None:
    """A newsletter of <div> cards: the title is the link to the paper (arXiv, OpenReview,
    a DOI, Hugging Face), the abstract in a <details> or a paragraph, KaTeX as TeX."""
    result = read("newsletter-cards.html")
    assert [str(p) for p in result.problems] == [
        "newsletter-cards.html:27: 'A Card With No Abstract' has no abstract; skipped"
    ]
    night, tracking, zebrafish, video = result.entries
    assert (night.arxiv, night.title, night.authors) == (
        "2501.08123",
        "Depth Anything at Night: Robust Monocular Depth Estimation under Low Light",
        ("José Martínez", "Zoë Müller"),
    )
    assert night.abstract == (
        "Monocular depth estimation degrades sharply at night. We improve $\\delta_1$ "
        "accuracy by 12% on nuScenes-Night."
    )
    assert tracking.arxiv is None and tracking.authors == ("Mei Lín", "Ravi Shankar")
    assert tracking.links == (("other", "https://openreview.net/forum?id=Xy12AbCdEf"),)
    assert dict(zebrafish.extra) == {"doi": "10.1101/2025.01.13.632801"}
    assert video.arxiv == "2501.09001" and video.abstract.startswith("We extend video depth")


def test_html_articles_whose_title_is_a_link() -> None:
    result = read("weekly-articles.html")
    assert [(e.arxiv, e.title) for e in result.entries] == [
        ("2501.02576", "DepthMaster: Taming Diffusion Models for Monocular Depth Estimation"),
        ("2311.18809", "FoundPose: Unseen Object Pose Estimation with Foundation Features"),
    ]
    assert result.entries[0].abstract.startswith("A single-step diffusion model")


def test_a_page_with_no_papers_says_what_was_looked_for() -> None:
    with pytest.raises(IngestError) as error:
        read("no-papers.html")
    assert str(error.value) == (
        "no-papers.html: no papers found: looked for an arXiv <dl> listing, <article> "
        "elements, and repeated elements each holding a link to one paper (arXiv, Hugging "
        "Face, OpenReview, a DOI)"
    )


@pytest.mark.parametrize(
    ("tex", "text"),
    [
        ("Schr\\\"odinger caf\\'{e}", "Schrödinger café"),
        ('G{\\"o}del, Fran\\c{c}ois, \\v{S}koda', "Gödel, François, Škoda"),
        ("{\\o}ster, Stra\\ss e, Ma{\\l}gorzata", "øster, Straße, Małgorzata"),
        ("na\\\"{\\i}ve \\'Ecole", "naïve École"),
        ("10.2\\% \\& \\_x \\#1", "10.2% & _x #1"),
        ("kept $\\frac{a}{b}$ and \\unknown{x}", "kept $\\frac{a}{b}$ and \\unknown{x}"),
        ("50% of runs", "50% of runs"),
    ],
)
def test_tex_accents_and_escapes(tex: str, text: str) -> None:
    assert tex_to_unicode(tex) == text


def test_the_same_paper_from_two_formats_is_one_page_that_gains_what_it_lacked(
    tmp_path: Path,
) -> None:
    root = copy_site(tmp_path / "site", content=False)
    content_dir = root / "content"
    day = dt.date(2025, 1, 15)
    # The HTML listing knows the paper by id, with no links and no categories ...
    assert not ingest([DATA / "arxiv-listing.html"], content_dir, today=day).problems[1:]
    papers = {p.arxiv: p for p in content.load_papers(content_dir)}
    assert papers["2501.08123"].path is not None
    path = Path(papers["2501.08123"].path)
    # ... a maintainer edits its title and body ...
    edited = (
        path.read_text(encoding="utf-8").replace("Low Light", "Low Light (must read)", 1)
        + "\nLab note.\n"
    )
    path.write_text(edited, encoding="utf-8")
    # ... then the API feed and the e-mail bring the same paper with more fields.
    ingest([DATA / "arxiv-api.xml", DATA / "arxiv-email.txt"], content_dir, today=day)
    merged = {p.arxiv: p for p in content.load_papers(content_dir)}["2501.08123"]
    assert (
        merged.title
        == "Depth Anything at Night: Robust Monocular Depth Estimation under Low Light (must read)"
    )
    assert merged.body.endswith("Lab note.")
    assert merged.digests == ("arxiv-listing", "arxiv-api", "arxiv-email")
    assert merged.authors == ("José Martínez", "Zoë Müller")  # kept: it had authors already
    assert merged.links == (("pdf", "http://arxiv.org/pdf/2501.08123v2"),)  # gained
    assert dict(merged.extra)["primary_category"] == "cs.CV"  # gained from the feed
    assert len([p for p in content.load_papers(content_dir) if p.arxiv == "2501.08123"]) == 1


def test_formats_build_into_pages_with_arxiv_links_math_and_withdrawn_marks(tmp_path: Path) -> None:
    root = copy_site(tmp_path / "site", content=False)
    for name in ["hf-daily-papers.json", "arxiv-api.xml", "arxiv-email.txt"]:
        shutil.copy(DATA / name, root / "content/digests" / name)
    report = ingest([root / "content/digests"], root / "content", today=dt.date(2025, 1, 20))
    assert report.papers_read == 17
    public = build_site(root, search=False)

    def page(slug: str) -> BeautifulSoup:
        return BeautifulSoup(
            (public / "papers" / slug / "index.html").read_text(encoding="utf-8"), "html.parser"
        )

    night = page("depth-anything-at-night-robust-monocular-depth-estimation-under-low-light")
    assert [a["href"] for a in night.select(".links a")] == [
        "https://arxiv.org/abs/2501.08123",
        "https://arxiv.org/pdf/2501.08123",
        "https://arxiv.org/html/2501.08123",
    ]
    assert night.select_one(".abstract math") is not None  # $\delta_1$ as MathML
    video = page("video-depth-anything-2-consistent-depth-for-hour-long-videos")
    assert [a.get_text() for a in video.select(".links a")][-2:] == ["Code", "Project page"]
    withdrawn = page("withdrawn-a-flawed-proof-of-generalization-bounds")
    assert "Withdrawn" in withdrawn.select_one(".withdrawn").get_text()
    score = page("a-note-on-score-matching-with-mathcal-o-1-n-error")
    assert score.select_one("a[href='https://doi.org/10.1214/25-AOS0001']") is not None
    bad_formula = page("depth-completion-for-sparse-lidar")
    assert bad_formula.select_one(".abstract") is not None  # a formula never breaks a page


def test_the_command_line_lists_exactly_the_formats_there_are_readers_for() -> None:
    from labdigest.models import FORMAT_NAMES

    assert (
        FORMAT_NAMES
        == tuple(f.value for f in formats.Format)
        == tuple(f.value for f in formats.READERS)
    )

"""The built site, through the real pipeline: pages, links, escaping, errors, safety."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from bs4 import BeautifulSoup

from conftest import add_front_matter, build_site, copy_site, tree_bytes
from labdigest import parallel
from labdigest.cli import main
from labdigest.errors import ContentError, TemplateError
from labdigest.ingest import ingest


def pages(public: Path) -> list[Path]:
    return sorted(public.rglob("*.html"))


def internal_targets(public: Path, base: str) -> list[tuple[Path, str]]:
    """(page, url) for every href and src of every page that stays on this site."""
    found = []
    for page in pages(public):
        if page.parts[len(public.parts)] == "pagefind":
            continue
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        for tag in soup.find_all(href=True) + soup.find_all(src=True):
            url = tag.get("href") or tag.get("src")
            if url.startswith("#"):
                assert soup.find(id=url[1:]) is not None, f"{page}: no element for {url}"
            elif not urlsplit(url).scheme and not url.startswith("//"):
                found.append((page, url))
    return found


def resolve(public: Path, base: str, url: str) -> Path:
    path = urlsplit(url).path
    assert path.startswith(base), f"{url} does not start with the base {base}"
    relative = path[len(base) :]
    target = public / relative
    return target / "index.html" if path.endswith("/") else target


def test_example_site_has_every_page_of_the_contract(example_public: Path) -> None:
    expected = [
        "index.html",
        "404.html",
        "topics/index.html",
        "digests/index.html",
        "digests/hf-papers-mar-11/index.html",
        "search/index.html",
        "assets/style.css",
        "topics/depth-estimation/index.html",
        "topics/data-robustness/index.html",
    ]
    for path in expected:
        assert (example_public / path).is_file(), path
    assert len(list((example_public / "papers").glob("*/index.html"))) == 67


@pytest.mark.parametrize(
    "fixture,base", [("example_public", "/"), ("example_public_subpath", "/digest/")]
)
def test_every_internal_link_resolves(
    fixture: str, base: str, request: pytest.FixtureRequest
) -> None:
    public: Path = request.getfixturevalue(fixture)
    targets = internal_targets(public, base)
    assert len(targets) > 1000
    missing = [
        (str(page.relative_to(public)), url)
        for page, url in targets
        if not resolve(public, base, url).is_file()
    ]
    assert missing == []


def test_every_page_is_html5_with_language_landmarks_and_one_h1(example_public: Path) -> None:
    for page in pages(example_public):
        if "pagefind" in page.parts or page.name == "email.html":
            continue
        text = page.read_text(encoding="utf-8")
        assert text.startswith("<!doctype html>"), page
        soup = BeautifulSoup(text, "html.parser")
        assert soup.html is not None and soup.html.get("lang") == "en"
        assert soup.find("main") is not None and soup.find("header") is not None
        assert soup.find("form", attrs={"role": "search"}) is not None
        assert len(soup.find_all("h1")) == 1, page


def test_home_shows_the_latest_digest_by_topic_in_compact_cards(
    example_public: Path, example_digest_text: str
) -> None:
    """Each paper once, under its first topic (in site.toml's order, papers in no topic
    last), a few shown and the rest folded; the page stays small."""
    html = (example_public / "index.html").read_text(encoding="utf-8")
    assert len(html.encode("utf-8")) < 60_000
    page = BeautifulSoup(html, "html.parser")
    groups = page.select(".topic-group")
    names = [g.select_one("h2 a").get_text() for g in groups]
    order = [a.select_one(".topic-name").get_text() for a in page.select(".topic-grid a")]
    assert names[0] == "Depth estimation" and names == sorted(names, key=order.index)
    titles = [a.get_text() for a in page.select(".topic-group .card-title a")]
    assert len(titles) == len(set(titles)) == 67
    depth = groups[0]
    assert len(depth.select(":scope > ol .compact")) == 4
    assert depth.select_one("details summary").get_text() == "8 more in Depth estimation"
    assert depth.select_one("h2 .count").get_text() == "12"
    assert page.select_one(".new-badge") is None  # a first digest: nothing to tell apart
    assert "67" in page.select_one(".lede").get_text()
    topics = {
        a.select_one(".topic-name").get_text(): a.select_one(".count").get_text()
        for a in page.select(".topic-grid a")
    }
    assert topics["Depth estimation"] == "12 papers"


def test_paper_page_shows_the_abstract_literally_with_links_and_navigation(
    example_public: Path, example_digest_text: str
) -> None:
    page = (
        example_public
        / "papers"
        / "depthmaster-taming-diffusion-models-for-monocular-depth-estimation"
        / "index.html"
    )
    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    assert (
        soup.h1.get_text() == "DepthMaster: Taming Diffusion Models for Monocular Depth Estimation"
    )
    abstract = " ".join(soup.select_one(".abstract p").get_text().split())
    assert abstract in example_digest_text
    assert abstract.startswith("Monocular depth estimation within the diffusion-denoising paradigm")
    assert soup.select_one(".abstract a")["href"] == "https://indu1ge.github.io/DepthMaster_page"
    assert " ".join(soup.select_one("a[rel=prev]").get_text().split()).startswith("← FoundPose")
    assert " ".join(soup.select_one("a[rel=next]").get_text().split()).startswith("MiVOLO")
    assert [a.get_text() for a in soup.select(".facts a.tag")] == [
        "Depth estimation",
        "Diffusion models",
    ]
    assert soup.find("time")["datetime"] == "2026-03-11"


def test_topic_page_lists_newest_first_with_teasers(example_public: Path) -> None:
    soup = BeautifulSoup(
        (example_public / "topics/pose-estimation/index.html").read_text(encoding="utf-8"),
        "html.parser",
    )
    cards = soup.select(".card")
    assert len(cards) == 9
    assert all(card.select_one(".teaser").get_text() for card in cards)


def test_arxiv_and_code_links_show_when_known(site: Path) -> None:
    paper = (
        site / "content/papers/foundpose-unseen-object-pose-estimation-with-foundation-features.md"
    )
    add_front_matter(
        paper, "arxiv: 2402.12345\nlinks:\n  code: https://github.com/example/foundpose\n"
    )
    public = build_site(site, search=False)
    soup = BeautifulSoup(
        (
            public
            / "papers/foundpose-unseen-object-pose-estimation-with-foundation-features/index.html"
        ).read_text(encoding="utf-8"),
        "html.parser",
    )
    assert [(a.get_text(), a["href"]) for a in soup.select(".links a")] == [
        ("arXiv", "https://arxiv.org/abs/2402.12345"),
        ("PDF", "https://arxiv.org/pdf/2402.12345"),
        ("HTML", "https://arxiv.org/html/2402.12345"),
        ("Code", "https://github.com/example/foundpose"),
    ]


def test_script_in_title_and_abstract_is_shown_as_text(tmp_path: Path) -> None:
    root = copy_site(tmp_path / "site", content=False)
    title = "<script>alert('t')</script> Title"
    abstract = '"><img src=x onerror=alert(1)> and <script>alert("a")</script> {{ 7*7 }}.'
    digest = root / "content/digests/evil.txt"
    digest.write_text(f"Mar 11\n\n{title}\n\n{abstract}\n", encoding="utf-8")
    assert ingest([digest], root / "content", today=dt.date(2026, 11, 28)).problems == []
    public = build_site(root, search=False)
    for page in pages(public):
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        assert soup.find("img") is None, page
        assert all(
            s.get("src") or s.get("type") == "application/ld+json" for s in soup.find_all("script")
        ), page
    paper = next((public / "papers").glob("*/index.html"))
    soup = BeautifulSoup(paper.read_text(encoding="utf-8"), "html.parser")
    assert soup.h1.get_text() == title
    assert soup.select_one(".abstract p").get_text() == abstract
    assert "49" not in soup.select_one(".abstract p").get_text()


def test_build_is_deterministic(site: Path, tmp_path: Path) -> None:
    first = build_site(site, out=tmp_path / "one", search=False)
    second = build_site(site, out=tmp_path / "two", search=False)
    assert tree_bytes(first) == tree_bytes(second)


def test_a_failed_build_leaves_the_previous_site_untouched(site: Path) -> None:
    public = build_site(site, search=False)
    before = tree_bytes(public)
    paper = (
        site / "content/papers/foundpose-unseen-object-pose-estimation-with-foundation-features.md"
    )
    paper.write_text(
        paper.read_text(encoding="utf-8").replace("date: 2026-03-11", "date: [oops"),
        encoding="utf-8",
    )
    with pytest.raises(ContentError) as error:
        build_site(site, search=False)
    assert str(error.value).startswith(f"{paper}:3: invalid YAML")
    assert tree_bytes(public) == before
    assert not list(site.glob(".public.tmp-*"))  # no half-built site left behind


def test_template_errors_name_template_and_line(site: Path) -> None:
    build_site(site, search=False)
    before = tree_bytes(site / "public")
    template = site / "templates/topic.html"
    lines = template.read_text(encoding="utf-8").splitlines()
    lines[5] = "{{ topic.no_such_field }}"
    template.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(TemplateError) as error:
        build_site(site, search=False)
    assert str(error.value).startswith(f"{template}:6: ")
    assert "no_such_field" in str(error.value)
    template.write_text("{% if %}\n", encoding="utf-8")
    with pytest.raises(TemplateError) as error:
        build_site(site, search=False)
    assert str(error.value).startswith(f"{template}:1: ")
    template.write_bytes(b"<p>\n<p>caf\xe9</p>\n")  # saved as Latin-1
    with pytest.raises(TemplateError) as error:
        build_site(site, search=False)
    assert str(error.value) == f"{template}:2: not UTF-8 text (invalid continuation byte)"
    assert tree_bytes(site / "public") == before


@pytest.mark.parametrize("in_workers", [False, True])
def test_a_failing_expression_in_a_template_names_template_and_line(
    site: Path, in_workers: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not only Jinja's own errors: 1/0, or a filter given what it cannot take (a
    maintainer's slip), is an error naming the template's line, not a traceback, whether
    the page was rendered here or by a worker process."""
    monkeypatch.setattr(parallel, "force", in_workers)
    build_site(site, search=False)
    before = tree_bytes(site / "public")
    card = site / "templates/_card.html"
    lines = card.read_text(encoding="utf-8").splitlines()
    lines[1] += "{{ paper.title | sum }}"
    card.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(TemplateError) as error:
        build_site(site, search=False)
    assert str(error.value) == (
        f"{card}:2: TypeError: unsupported operand type(s) for +: 'int' and 'str'"
    )
    assert tree_bytes(site / "public") == before


def test_cli_build_reports_path_and_line_without_traceback(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (site / "site.toml").write_text('[site]\ntitle = "x"\ncolour = "red"\n', encoding="utf-8")
    status = main(["--config", str(site / "site.toml"), "build", "--no-search"])
    err = capsys.readouterr().err
    assert status == 1
    assert (
        err
        == f"labdigest: error: {site / 'site.toml'}:3: unknown key 'colour' in [site] (known keys: base_url, description, language, per_page, scholar_tags, title, url)\n"
    )
    assert not (site / "public").exists()


def test_missing_or_unreadable_settings_are_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.toml"
    assert main(["--config", str(missing), "build"]) == 1
    assert capsys.readouterr().err == (
        f"labdigest: error: {missing}: site settings not found (pass --config FILE)\n"
    )
    assert main(["--config", str(tmp_path), "build"]) == 1
    assert capsys.readouterr().err == (
        f"labdigest: error: {tmp_path}: cannot read the site settings: Is a directory\n"
    )


def test_a_folder_named_like_a_paper_is_not_read_as_one(site: Path) -> None:
    (site / "content/papers/drafts.md").mkdir()  # e.g. a maintainer's folder of drafts
    (site / "content/manifests/old.yml").mkdir()
    build_site(site, search=False)
    assert len(list((site / "public/papers").glob("*/index.html"))) == 67


def test_unknown_pinned_topic_is_an_error_with_its_line(site: Path) -> None:
    paper = (
        site / "content/papers/foundpose-unseen-object-pose-estimation-with-foundation-features.md"
    )
    add_front_matter(paper, "topics:\n- nope\n")
    with pytest.raises(ContentError) as error:
        build_site(site, search=False)
    assert str(error.value) == f"{paper}:6: unknown topic 'nope' (topics are defined in site.toml)"


def test_strict_turns_warnings_into_failure(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(site / "site.toml"), "build", "--no-search", "--strict"]) == 0
    (site / "content/papers/off-topic.md").write_text(
        "---\ntitle: Medieval Poetry\ndate: 2026-03-11\ndigests:\n- hf-papers-mar-11\n---\n\nSonnets.\n",
        encoding="utf-8",
    )
    status = main(["--config", str(site / "site.toml"), "build", "--no-search", "--strict"])
    assert status == 1
    assert "1 paper matches no topic" in capsys.readouterr().err
    # Without --strict it builds, and the paper shows under a visible "Unsorted" topic.
    public = build_site(site, search=False)
    soup = BeautifulSoup(
        (public / "topics/unsorted/index.html").read_text(encoding="utf-8"), "html.parser"
    )
    assert [a.get_text() for a in soup.select(".card-title a")] == ["Medieval Poetry"]
    overview = (public / "topics/index.html").read_text(encoding="utf-8")
    assert 'href="/topics/unsorted/">Unsorted</a>' in overview


def test_python_dash_m_and_help_work() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "labdigest", "--help"], capture_output=True, text=True, check=True
    )
    assert "ingest" in result.stdout and "build" in result.stdout and "serve" in result.stdout


def list_cards(page: Path) -> list[str]:
    return list_cards_of(page.read_bytes())


def list_cards_of(html: bytes) -> list[str]:
    soup = BeautifulSoup(html, "html.parser")
    return [a["href"] for a in soup.select(".paper-list .card-title a")]


def followed(public: Path, first: Path) -> list[Path]:
    """The pages of a list, from its first by each page's link to the next, each of
    whose link back leads to the page before."""
    pages = [first]
    while (
        following := BeautifulSoup(pages[-1].read_bytes(), "html.parser").select_one("a[rel=next]")
    ) is not None:
        pages.append(resolve(public, "/", following["href"]))
        back = BeautifulSoup(pages[-1].read_bytes(), "html.parser").select_one("a[rel=prev]")
        assert resolve(public, "/", back["href"]) == pages[-2]
    return pages


def test_long_lists_are_split_into_linked_pages_that_hold_the_whole_list(site: Path) -> None:
    """A digest's list is split into pages (/page/2/ and on), a topic's into its own page
    of its newest papers and archive pages numbered from the oldest (/page/1/ holds the
    oldest). Followed from the first page by their links, the pages hold the whole list
    in order, and the sitemap lists every page."""
    whole = build_site(site, out=site / "whole", search=False)
    settings = site / "site.toml"
    settings.write_text(settings.read_text("utf-8").replace("per_page = 100", "per_page = 10"))
    public = build_site(site, search=False)
    sitemap = (public / "sitemap.xml").read_text("utf-8")

    digest = "digests/hf-papers-mar-11/"
    expected = list_cards(whole / digest / "index.html")
    pages = followed(public, public / digest / "index.html")
    assert [list_cards(page) for page in pages] == [
        expected[start : start + 10] for start in range(0, len(expected), 10)
    ]
    for number, page in enumerate(pages, start=1):
        soup = BeautifulSoup(page.read_bytes(), "html.parser")
        assert f"Page {number} of {len(pages)}" in soup.select_one(".pager").text
        assert soup.select_one("ol.paper-list").get("start", "1") == str(10 * number - 9)
        assert (" · page " in soup.title.text) == (number > 1)
        assert f"/{digest}{'' if number == 1 else f'page/{number}/'}</loc>" in sitemap

    topic = "topics/domain-generalization/"
    expected = list_cards(whole / topic / "index.html")
    assert len(expected) == 27
    pages = followed(public, public / topic / "index.html")
    # The topic's own page: the newest 17 (10 to 19), then one archive page of 10.
    assert [len(list_cards(page)) for page in pages] == [17, 10]
    assert [card for page in pages for card in list_cards(page)] == expected
    assert pages[1] == public / topic / "page/1/index.html"
    assert not (public / topic / "page/2").exists()
    soup = BeautifulSoup(pages[1].read_bytes(), "html.parser")
    assert soup.title.text.startswith("Domain generalization & adaptation · page 1 · ")
    assert "Earlier papers, page 1: 11 March 2026, newest first." in soup.select_one(".lede").text
    assert f"/{topic}</loc>" in sitemap and f"/{topic}page/1/</loc>" in sitemap
    # A paper page's digest navigation leads to the page of the digest that lists it.
    paper = list_cards(whole / "digests/hf-papers-mar-11/index.html")[25]
    soup = BeautifulSoup(resolve(public, "/", paper).read_bytes(), "html.parser")
    assert "Paper 26 of" in soup.select_one("nav.pager").text
    digest_link = soup.select_one("nav.pager p a")["href"]
    assert digest_link == "/digests/hf-papers-mar-11/page/3/"
    assert paper in list_cards(resolve(public, "/", digest_link))


def test_a_new_digest_leaves_a_topics_archive_pages_as_they_were(site: Path) -> None:
    """A topic's archive pages are numbered from its oldest papers: papers newer than
    all of them change only the topic's own page, until it overflows into a new archive
    page (then the one before it gains a link to it). The pages kept are not even
    written again."""
    settings = site / "site.toml"
    settings.write_text(settings.read_text("utf-8").replace("per_page = 100", "per_page = 5"))
    public = build_site(site, search=False)
    topic = public / "topics/domain-generalization"
    archive = {number: topic / f"page/{number}/index.html" for number in range(1, 5)}
    assert not (topic / "page/5").exists()  # 27 papers: 7 on its own page, 4 pages of 5
    before = {n: (page.read_bytes(), page.stat().st_mtime_ns) for n, page in archive.items()}
    model = next(
        paper
        for paper in sorted((site / "content/papers").glob("*.md"))
        if f"/{paper.stem}/" in (topic / "page/1/index.html").read_text("utf-8")
    )

    def add_newer_papers(titles: list[str]) -> list[str]:
        text = model.read_text("utf-8")
        title = text.split("title: ", 1)[1].split("\n", 1)[0]
        for name in titles:
            newer = text.replace(f"title: {title}", f"title: {name}").replace(
                "date: 2026-03-11", "date: 2026-03-12"
            )
            (model.parent / f"{name.lower().replace(' ', '-')}.md").write_text(newer, "utf-8")
        build_site(site, search=False)
        return list_cards(topic / "index.html")

    newest = add_newer_papers(["Newer One", "Newer Two"])  # 29 papers: 9 on its own page
    assert newest[:2] == ["/papers/newer-one/", "/papers/newer-two/"] and len(newest) == 9
    for number, page in archive.items():
        assert (page.read_bytes(), page.stat().st_mtime_ns) == before[number], number
    assert not (topic / "page/5").exists()
    newest = add_newer_papers(["Newer Three"])  # 30: 5 on its own page, 5 archive pages
    assert len(newest) == 5
    assert len(list_cards(topic / "page/5/index.html")) == 5
    for number in (1, 2, 3):
        assert (archive[number].read_bytes(), archive[number].stat().st_mtime_ns) == before[
            number
        ], number
    assert archive[4].read_bytes() != before[4][0]  # its newer page is page 5 now
    assert list_cards(archive[4]) == list_cards_of(before[4][0])


def test_a_digest_page_names_its_kind_and_date_not_a_file(example_public: Path) -> None:
    page = soup(example_public / "digests/hf-papers-mar-11/index.html")
    lede = page.select_one(".lede").get_text()
    assert lede == (
        "67 papers from a Hugging Face papers page of 11 March 2026, in the order it listed them."
    )
    assert "digests/" not in page.select_one("main").get_text()


def test_teasers_end_in_one_ellipsis_never_after_a_stop() -> None:
    from labdigest.views import teaser

    text = "We propose a half-plane split (HPS). " + "More words follow here. " * 20
    cut = teaser(text, limit=len("We propose a half-plane split (HPS). More"))
    assert cut == "We propose a half-plane split (HPS)…"
    assert teaser("Short.") == "Short."


def test_search_landmarks_are_labelled_apart(example_public: Path) -> None:
    for page in ("404.html", "search/index.html", "index.html"):
        forms = soup(example_public / page).select('form[role="search"]')
        labels = [form.get("aria-label") for form in forms]
        assert all(labels) and len(set(labels)) == len(labels), page


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")

"""Search: the real Pagefind index, and the search page driven in a real headless Chromium
(Debian's /usr/bin/chromium through Playwright; no browser download)."""

from __future__ import annotations

import dataclasses
import gzip
import json
import multiprocessing
import re
import socket
import statistics
import time
import urllib.request
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

from conftest import (
    DEPTHMASTER_TITLE,
    EXAMPLE,
    add_front_matter,
    build_site,
    copy_site,
    open_first_result_under_digest,
)
from labdigest import content
from labdigest.search import indexed_pages
from labdigest.serve import SiteHandler, accepts_gzip, make_server, serve_in_background

DEPTHMASTER = "depthmaster-taming-diffusion-models-for-monocular-depth-estimation"
FIRST_RESULT_TIMES: list[int] = []  # a shared link opened in a fresh browser
WARM_RESULT_TIMES: list[int] = []  # a second search by a reader already on the site


# ---- the index ----------------------------------------------------------------------------


def test_index_counts_exactly_the_paper_pages(example_public: Path) -> None:
    assert indexed_pages(example_public / "pagefind/1") == 67
    assert len(list((example_public / "papers").glob("*/index.html"))) == 67
    assert (example_public / "pagefind/1/pagefind.js").is_file()
    assert [p.name for p in (example_public / "pagefind").iterdir()] == ["1"]


def test_no_search_skips_the_index(site: Path, tmp_path: Path) -> None:
    public = build_site(site, out=tmp_path / "out", search=False)
    assert (public / "index.html").is_file()
    assert not (public / "pagefind").exists()


def test_a_build_without_search_throws_the_last_index_away(site: Path) -> None:
    """After a build with search, a build without it must neither serve nor keep the
    last index."""
    build_site(site)
    assert (site / "public/pagefind/1/pagefind-entry.json").is_file()
    paper = next((site / "content/papers").glob("*.md"))
    paper.write_text(paper.read_text(encoding="utf-8") + "\nEdited.\n", encoding="utf-8")
    build_site(site, search=False)
    assert not (site / "public/pagefind").exists()
    assert "pagefind" not in (site / "public/search/index.html").read_text(encoding="utf-8")
    assert not [p for p in site.rglob("pagefind*") if p.is_dir()]


def test_a_rebuild_with_search_indexes_the_new_text_and_not_the_old(site: Path) -> None:
    """A rebuild renders only the changed pages, but Pagefind indexes every paper page:
    the edited paper's new word is found, a deleted paper's title is not, and the new
    index replaces the old one whole."""
    build_site(site)
    papers = site / "content/papers"
    paper = papers / "towards-exact-computation-of-inductive-bias.md"
    paper.write_text(paper.read_text("utf-8") + "\nQuokkaword.\n", "utf-8")
    gone = papers / "foundpose-unseen-object-pose-estimation-with-foundation-features.md"
    gone.unlink()
    public = build_site(site)
    assert indexed_pages(public / "pagefind/1") == 66
    texts = [gzip.decompress(p.read_bytes()) for p in (public / "pagefind/1/fragment").iterdir()]
    assert len(texts) == 66
    assert sum(b"Quokkaword" in text for text in texts) == 1
    assert not any(b"FoundPose" in text for text in texts)
    assert len(list((public / "pagefind/1").glob("pagefind.*.pf_meta"))) == 1


def test_the_index_holds_each_papers_own_text_not_its_pages_related_papers(
    example_public: Path,
) -> None:
    """Pagefind indexes each paper's search record, not its page: a paper's fragment
    holds its title and abstract, its topics as filters, and not the titles of the
    related papers its page lists (a search for them would find it too)."""
    texts = [
        json.loads(gzip.decompress(p.read_bytes())[len(b"pagefind_dcd") :])
        for p in (example_public / "pagefind/1/fragment").iterdir()
    ]
    fragment = next(t for t in texts if t["meta"]["title"] == DEPTHMASTER_TITLE)
    assert fragment["meta"]["path"] == f"papers/{DEPTHMASTER}/"
    assert "monocular depth" in fragment["content"].lower()
    assert "Depth estimation" in fragment["filters"]["topic"]
    assert fragment["filters"]["year"] == [fragment["meta"]["date"][-4:]]
    page = (example_public / fragment["meta"]["path"] / "index.html").read_text("utf-8")
    related = re.findall(r'<h3 class="card-title"><a [^>]*>([^<]+)</a>', page)
    assert related and not any(title in fragment["content"] for title in related)
    assert not [
        p for p in example_public.rglob("*.html") if "data-pagefind" in p.read_text("utf-8")
    ]


def test_the_server_lets_browsers_unpack_pagefinds_chunks(example_public: Path) -> None:
    """Pagefind's chunks are gzip files that its JavaScript unpacks unless the server sends
    them as Content-Encoding: gzip; labdigest serve does, to clients that accept gzip."""
    server, url = serve_in_background(example_public, "/")
    fragment = min((example_public / "pagefind/1/fragment").iterdir()).name
    chunk = f"{url}pagefind/1/fragment/{fragment}"
    try:
        encoded = fetch(chunk, "gzip, deflate, br")
        assert encoded.headers["Content-Encoding"] == "gzip"
        assert gzip.decompress(encoded.body).startswith(b"pagefind_dcd")
        plain = fetch(chunk, "identity")
        assert plain.headers["Content-Encoding"] is None
        assert plain.body == encoded.body  # the file's own bytes, either way
        assert fetch(chunk, "gzip;q=0, *").headers["Content-Encoding"] is None
        script = fetch(f"{url}pagefind/1/pagefind.js", "gzip")
        assert script.headers["Content-Encoding"] is None and b"pagefind_version" in script.body
    finally:
        server.shutdown()


def test_the_server_sends_each_chunk_without_waiting_for_an_ack(
    example_public: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Headers and body are two writes: with Nagle's algorithm on, the body of every small
    chunk waited for the browser's delayed ACK of the headers (~40 ms per request, measured
    from a client on 127.0.0.1; the server's connections must set TCP_NODELAY)."""
    options: list[int] = []
    setup = SiteHandler.setup

    def recording_setup(handler: SiteHandler) -> None:
        setup(handler)
        options.append(handler.connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    monkeypatch.setattr(SiteHandler, "setup", recording_setup)
    server, url = serve_in_background(example_public, "/")
    try:
        assert fetch(f"{url}pagefind/1/pagefind-entry.json", "gzip").body.startswith(b"{")
    finally:
        server.shutdown()
    assert options and all(options)


@dataclasses.dataclass
class Fetched:
    headers: Message
    body: bytes


def fetch(url: str, accept_encoding: str) -> Fetched:
    request = urllib.request.Request(url, headers={"Accept-Encoding": accept_encoding})
    with urllib.request.urlopen(request, timeout=10) as response:
        return Fetched(response.headers, response.read())


@pytest.mark.parametrize(
    ("header", "accepted"),
    [
        ("gzip", True),
        ("br, gzip;q=0.5", True),
        ("*", True),
        ("x-gzip", True),
        ("", False),
        ("identity", False),
        ("br", False),
        ("gzip;q=0", False),
        ("GZIP;Q=0.0, *", False),
        ("*;q=1, gzip;q=0", False),
    ],
)
def test_accept_encoding_is_read_as_http_says(header: str, accepted: bool) -> None:
    assert accepts_gzip(header) is accepted


# ---- the browser ----------------------------------------------------------------------------


# Every Content-Security-Policy violation of a page view is recorded and must stay empty.
RECORD_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    context.add_init_script(RECORD_CSP_VIOLATIONS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    # Every page names the site's icon: no page view asks for a missing /favicon.ico.
    icons: list[tuple[str, int]] = []
    page.on("response", lambda r: "favicon" in r.url and icons.append((r.url, r.status)))
    yield page
    if not page.is_closed() and page.url.startswith("http"):
        assert page.evaluate("window.__cspViolations") == []
    context.close()
    assert [e for e in errors if "404 (Not Found)" not in e] == []
    assert all(url.endswith("/assets/favicon.png") and status == 200 for url, status in icons)


@pytest.fixture(scope="session")
def root_url(example_public: Path) -> Iterator[str]:
    """The example served from a process of its own, as a real host would be: a server
    thread in this process would share its interpreter with the browser driver."""
    server = make_server(example_public, "127.0.0.1", 0, "/", quiet=True)
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    process = multiprocessing.get_context("fork").Process(target=server.serve_forever, daemon=True)
    process.start()
    server.server_close()  # the child owns the socket now
    yield url
    process.terminate()
    process.join(5)


@pytest.fixture(scope="session")
def subpath_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example under /digest/, with authors and an arXiv id on one paper."""
    root = copy_site(tmp_path_factory.mktemp("subpath"))
    paper = (
        root / "content/papers/foundpose-unseen-object-pose-estimation-with-foundation-features.md"
    )
    add_front_matter(
        paper,
        "authors:\n- Evin Pınar Örnek\n- Yann Labbé\narxiv: '2311.18809'\n"
        "notes: Our reading group tried it on the *zebrafish* rig.\n",
    )
    return build_site(root, base_url="/digest/")


@pytest.fixture(scope="session")
def subpath_url(subpath_site: Path) -> Iterator[str]:
    server, url = serve_in_background(subpath_site, "/digest/")
    assert url.endswith("/digest/")
    yield url
    server.shutdown()


@pytest.fixture(params=["root_url", "subpath_url"])
def served_url(request: pytest.FixtureRequest) -> str:
    """The example site's URL, served at the root and under /digest/: a test that takes
    it runs against both."""
    return str(request.getfixturevalue(request.param))


def wait_until(page: Any, expression: str, timeout: float = 10.0) -> None:
    """Poll a JavaScript expression. Playwright's wait_for_function compiles its predicate
    with `new Function` inside the page, which the site's CSP rightly refuses."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        time.sleep(0.02)


def first_results_ms(page: Any) -> int:
    """When this page view's first results were on screen, by the page's own clock. Waited
    for before any selector is used: Playwright's selector engine is a script it injects
    into the page, whose compiling would be charged to the page being measured."""
    wait_until(page, "document.documentElement.dataset.firstResultsMs")
    return int(page.evaluate("document.documentElement.dataset.firstResultsMs"))


def result_titles(page: Any) -> list[str]:
    page.wait_for_selector("#search-results li.result", timeout=10_000)
    return [t.strip() for t in page.locator("#search-results li.result h2").all_inner_texts()]


def result_count(page: Any) -> int:
    match = re.match(r"(\d+) papers?", page.inner_text("#search-status"))
    assert match, page.inner_text("#search-status")
    return int(match.group(1))


def only_in_one_abstract(word: str) -> str:
    """The title of the one paper whose abstract, and no title, has this word."""
    papers = content.load_papers(EXAMPLE / "content")
    in_abstract = [p for p in papers if re.search(rf"\b{word}\b", p.body, re.I)]
    assert len(in_abstract) == 1 and not any(word.lower() in p.title.lower() for p in papers)
    return in_abstract[0].title


QUERIES = [
    (
        "DepthMaster",
        lambda: "DepthMaster: Taming Diffusion Models for Monocular Depth Estimation",
    ),  # method name
    ("grokking", lambda: "Benign Overfitting and Grokking in ReLU Networks for XOR Cluster Data"),
    ("fisheye", lambda: only_in_one_abstract("fisheye")),  # a word found only in an abstract
    ("endoscopic", lambda: only_in_one_abstract("endoscopic")),
    (
        "rotations",
        lambda: "Robust Frame-to-Frame Camera Rotation Estimation in Crowded Scenes",
    ),  # stemmed
    (
        "task hinting",
        lambda: "Improving Length-Generalization in Transformers via Task Hinting",
    ),  # two words
]


@pytest.mark.browser
@pytest.mark.parametrize(("query", "expected"), QUERIES, ids=[q for q, _ in QUERIES])
def test_search_url_shows_the_expected_paper_first(
    page: Any, root_url: str, query: str, expected: Any
) -> None:
    page.goto(f"{root_url}search/?q={query.replace(' ', '+')}")
    FIRST_RESULT_TIMES.append(first_results_ms(page))
    titles = result_titles(page)
    assert titles[0] == expected()
    assert page.input_value("#search-input") == query
    assert page.locator("#search-results .excerpt mark").count() > 0  # matched terms highlighted
    page.goto(f"{root_url}search/?q={query.replace(' ', '+')}&sort=")
    WARM_RESULT_TIMES.append(first_results_ms(page))
    assert result_titles(page)[0] == expected()


@pytest.mark.browser
def test_two_word_phrase_ranks_papers_with_both_words(page: Any, root_url: str) -> None:
    page.goto(f"{root_url}search/?q=monocular+depth")
    titles = result_titles(page)
    assert all("depth" in t.lower() for t in titles[:5])
    assert "monocular depth" in titles[0].lower()


@pytest.mark.browser
def test_topic_filter_narrows_results_and_lives_in_the_url(page: Any, served_url: str) -> None:
    page.goto(f"{served_url}search/?q=estimation")
    result_titles(page)
    before = result_count(page)
    page.locator("#facet-topic label", has_text="Depth estimation").locator("input").check()
    wait_until(
        page, f"!document.getElementById('search-status').textContent.startsWith('{before} ')"
    )
    after = result_count(page)
    assert 0 < after < before
    facet_count = (
        page.locator("#facet-topic label", has_text="Depth estimation")
        .locator(".count")
        .inner_text()
    )
    assert int(facet_count) == after
    assert page.url.startswith(f"{served_url}search/?") and "topic=Depth+estimation" in page.url
    page.reload()  # the filtered search can be shared as it is
    result_titles(page)
    assert result_count(page) == after
    assert (
        page.locator("#facet-topic label", has_text="Depth estimation")
        .locator("input")
        .is_checked()
    )


@pytest.mark.browser
def test_typing_updates_results_and_the_url(page: Any, served_url: str) -> None:
    page.goto(f"{served_url}search/")
    page.fill("#search-input", "grokking")
    wait_until(page, "document.querySelectorAll('#search-results li.result').length > 0")
    assert page.url == f"{served_url}search/?q=grokking"
    assert result_titles(page)[0].startswith("Benign Overfitting")


@pytest.mark.browser
def test_typing_before_pagefind_has_loaded_shows_results_once_it_has(
    page: Any, root_url: str
) -> None:
    """On a slow connection a reader types before Pagefind's script is in: the search
    waits for it (the page's error check fails on a search made without it)."""
    held: list[Any] = []

    def hold(route: Any) -> None:
        held.append(route)

    page.route("**/pagefind/1/pagefind.js", hold)
    page.goto(f"{root_url}search/", wait_until="domcontentloaded")
    page.fill("#search-input", "DepthMaster")
    page.wait_for_timeout(400)  # the typing delay is over; Pagefind is still held back
    assert held and page.locator("#search-results li.result").count() == 0
    for route in held:
        route.continue_()
    wait_until(page, "document.querySelectorAll('#search-results li.result').length > 0")
    assert result_titles(page)[0] == DEPTHMASTER_TITLE


@pytest.mark.browser
def test_header_box_leads_to_results(page: Any, served_url: str) -> None:
    page.goto(served_url)
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "site-search"
    page.keyboard.type("fisheye")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{served_url}search/?q=fisheye")
    assert result_titles(page)[0] == only_in_one_abstract("fisheye")


@pytest.mark.browser
def test_search_page_fetches_pagefinds_first_files_alongside_itself(
    page: Any, served_url: str
) -> None:
    """The search page names what Pagefind needs before it can search, so the browser
    fetches those files with the page instead of one after another. Each is fetched once:
    a preload that Pagefind then asks for under another URL would be fetched twice."""
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(served_url + "search/?q=DepthMaster")
    assert result_titles(page)[0] == DEPTHMASTER_TITLE
    preloaded = page.eval_on_selector_all(
        "link[rel=preload], link[rel=modulepreload]", "links => links.map((l) => l.href)"
    )
    # Only files whose names do not change from one index to the next: the page is the
    # same bytes whatever Pagefind wrote.
    assert [name.rsplit("/", 1)[1] for name in preloaded] == ["pagefind.js", "wasm.en.pagefind"]
    assert all(p.startswith(served_url + "pagefind/") for p in preloaded)
    assert [requested.count(p) for p in preloaded] == [1, 1]


@pytest.mark.browser
def test_search_under_a_sub_path_finds_authors_and_ids_with_working_links(
    page: Any, subpath_url: str
) -> None:
    page.goto(f"{subpath_url}search/?q=Labb%C3%A9")
    assert (
        result_titles(page)[0]
        == "FoundPose: Unseen Object Pose Estimation with Foundation Features"
    )
    page.goto(f"{subpath_url}search/?q=2311.18809")
    assert (
        result_titles(page)[0]
        == "FoundPose: Unseen Object Pose Estimation with Foundation Features"
    )
    page.goto(f"{subpath_url}search/?q=zebrafish")  # a word found only in the lab notes
    assert result_titles(page) == [
        "FoundPose: Unseen Object Pose Estimation with Foundation Features"
    ]
    page.goto(f"{subpath_url}search/?q=DepthMaster")
    result_titles(page)
    open_first_result_under_digest(page)


def test_report_first_result_time(record_property: Any) -> None:
    """Not a timed assertion: the median is reported at the end of the run."""
    if FIRST_RESULT_TIMES:
        record_property("first_results_median_ms", statistics.median(FIRST_RESULT_TIMES))


@pytest.mark.browser
def test_pages_carry_a_csp_that_search_lives_with(page: Any, browser: Any, root_url: str) -> None:
    for path in [
        "",
        "papers/depthmaster-taming-diffusion-models-for-monocular-depth-estimation/",
        "topics/",
        "digests/hf-papers-mar-11/",
        "search/?q=depth",
    ]:
        page.goto(root_url + path)
        policy = page.locator('meta[http-equiv="Content-Security-Policy"]').get_attribute("content")
        assert "script-src 'self' 'wasm-unsafe-eval'" in policy and "unsafe-inline" not in policy
        assert page.evaluate("window.__cspViolations") == []
    result_titles(page)  # search worked under the policy
    # An injected inline script is refused and reported (in a page of its own, since the
    # fixture's page must log no violation at all).
    context = browser.new_context()
    context.add_init_script(RECORD_CSP_VIOLATIONS)
    attacked = context.new_page()
    attacked.goto(root_url)
    attacked.evaluate("""() => { const s = document.createElement('script');
                                 s.textContent = 'window.__ran = true'; document.body.append(s); }""")
    wait_until(attacked, "window.__cspViolations.length > 0")
    assert attacked.evaluate("window.__ran === undefined")
    context.close()

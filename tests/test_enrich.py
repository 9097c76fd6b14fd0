"""`labdigest enrich` against a local HTTP server replaying recorded arXiv API answers
(tests/data/formats/): papers known by title alone gain their arXiv id, authors and
links when the API has the same title, keep every hand edit, and are asked for once."""

from __future__ import annotations

import http.server
import itertools
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import EXAMPLE, copy_site
from labdigest import enrich as enrich_module
from labdigest.cli import main
from labdigest.content import parse_paper

DATA = Path(__file__).parent / "data" / "formats"
ASKED: list[tuple[float, str]] = []  # (when, title) of every request the server got
PAPERS = (
    "depthmaster-taming-diffusion-models-for-monocular-depth-estimation",
    "foundpose-unseen-object-pose-estimation-with-foundation-features",
    "mivolo-multi-input-transformer-for-age-and-gender-estimation",
)


class Api(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        title = query.get("search_query", [""])[0]
        ASKED.append((time.monotonic(), title))
        if "DepthMaster" in title:
            status, body = 200, (DATA / "arxiv-api-title.xml").read_bytes()
        elif "FoundPose" in title:
            status, body = 503, b"Rate exceeded."
        else:
            status, body = 200, (DATA / "arxiv-api-empty.xml").read_bytes()
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def api() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Api)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api/query"
    server.shutdown()


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Three papers of the example (a copied HF page: titles and abstracts only)."""
    monkeypatch.setattr(enrich_module, "REQUEST_INTERVAL", 0.3)
    root = copy_site(tmp_path / "site", content=False)
    (root / "content" / "papers").mkdir()
    for slug in PAPERS:
        source = EXAMPLE / "content" / "papers" / f"{slug}.md"
        (root / "content" / "papers" / source.name).write_bytes(source.read_bytes())
    return root


def run(site: Path, api: str, *extra: str) -> int:
    return main(["--config", str(site / "site.toml"), "enrich", "--api-url", api, *extra])


def paper(site: Path, slug: str) -> object:
    path = site / "content" / "papers" / f"{slug}.md"
    return parse_paper(path.read_text(encoding="utf-8"), path)


def test_a_title_found_fills_what_the_paper_lacks_and_the_rest_is_reported(
    site: Path, api: str, capsys: pytest.CaptureFixture[str]
) -> None:
    depthmaster = site / "content" / "papers" / f"{PAPERS[0]}.md"
    text = depthmaster.read_text(encoding="utf-8")
    depthmaster.write_text(text.replace("source:", "authors:\n- Written By Hand\nsource:"), "utf-8")
    mivolo_before = (site / "content" / "papers" / f"{PAPERS[2]}.md").read_bytes()
    ASKED.clear()
    assert run(site, api) == 0
    found = paper(site, PAPERS[0])
    assert found.arxiv == "2501.02576"  # the entry with the same title, not the survey
    assert found.authors == ("Written By Hand",)  # a hand edit is never overwritten
    assert found.title == "DepthMaster: Taming Diffusion Models for Monocular Depth Estimation"
    extra = dict(found.extra)
    assert extra["published"] == "2025-01-05" and extra["categories"] == "cs.CV"
    assert extra["comments"] == "11 pages, 6 figures"
    assert ("pdf", "http://arxiv.org/pdf/2501.02576v2") in found.links
    # Not found: unchanged. Rate exceeded: reported, unchanged.
    assert (site / "content" / "papers" / f"{PAPERS[2]}.md").read_bytes() == mivolo_before
    assert paper(site, PAPERS[1]).arxiv is None
    out, err = capsys.readouterr()
    assert "3 papers known by title alone: 1 found on arXiv, 1 not found, 1 not asked" in out
    assert f"{PAPERS[1]}: " in err and "Rate exceeded" in err
    # One request every REQUEST_INTERVAL seconds.
    times = [when for when, _ in ASKED]
    assert len(times) == 3 and all(b - a >= 0.28 for a, b in itertools.pairwise(times))
    # A second run asks only what it could not ask before; a found paper is not asked again.
    ASKED.clear()
    assert run(site, api) == 0
    assert [title for _, title in ASKED] == [
        'ti:"FoundPose: Unseen Object Pose Estimation with Foundation Features"'
    ]


def test_a_limit_and_a_run_that_could_ask_nothing(
    site: Path, api: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ASKED.clear()
    assert run(site, api, "--limit", "1") == 0
    assert len(ASKED) == 1
    capsys.readouterr()
    # No server at all: every request fails, nothing is written, exit 1.
    before = {p.name: p.read_bytes() for p in (site / "content" / "papers").iterdir()}
    assert run(site, "http://127.0.0.1:9/api/query", "--timeout", "2") == 1
    assert "cannot connect" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in (site / "content" / "papers").iterdir()} == before


def test_the_page_of_a_paper_with_no_id_offers_searches_for_it(site: Path) -> None:
    from bs4 import BeautifulSoup

    from conftest import build_site

    public = build_site(site, search=False)
    page = BeautifulSoup((public / "papers" / PAPERS[1] / "index.html").read_bytes(), "html.parser")
    links = {a.get_text(): a["href"] for a in page.select(".find a")}
    assert links == {
        "arXiv": "https://arxiv.org/search/?searchtype=title&query=FoundPose%3A+Unseen+Object"
        "+Pose+Estimation+with+Foundation+Features",
        "Semantic Scholar": "https://www.semanticscholar.org/search?q=FoundPose%3A+Unseen+Object"
        "+Pose+Estimation+with+Foundation+Features",
        "Google Scholar": "https://scholar.google.com/scholar?q=%22FoundPose%3A+Unseen+Object"
        "+Pose+Estimation+with+Foundation+Features%22",
    }

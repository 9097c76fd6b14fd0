"""`labdigest fetch` against a local HTTP server on 127.0.0.1: the good path saves a
dated file and ingests it; every failure gives a clear message and writes nothing."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import copy_site, tree_bytes
from labdigest.cli import main

DATA = Path(__file__).parent / "data" / "formats"
ROUTES: dict[str, tuple[int, bytes]] = {
    "/api/daily_papers": (200, (DATA / "hf-daily-papers.json").read_bytes()),
    "/api/query": (200, (DATA / "arxiv-api.xml").read_bytes()),
    "/api/query-error": (200, (DATA / "arxiv-api-error.xml").read_bytes()),
    "/rate": (503, b"Rate exceeded."),
    "/rate-ok": (200, b"Rate exceeded.\n"),
    "/gone": (404, b"not here"),
    "/page": (200, (DATA / "papers-page.html").read_bytes()),
    "/rss/cs.CV+cs.LG": (200, (DATA / "arxiv-rss.xml").read_bytes()),
    "/atom/cs.CV": (200, (DATA / "arxiv-rss-atom.xml").read_bytes()),
    "/rss/cs.CV": (200, (DATA / "arxiv-rss-weekend.xml").read_bytes()),
}


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/slow":
            time.sleep(2)
        status, body = ROUTES.get(self.path, (500, b"boom"))
        try:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (the timeout test)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def fetch(site: Path, url: str, *extra: str) -> int:
    return main(["--config", str(site / "site.toml"), "fetch", url, "--date", "2025-01-16", *extra])


def test_fetch_saves_a_dated_digest_and_ingests_it(
    tmp_path: Path, server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    site = copy_site(tmp_path / "site", content=False)
    assert fetch(site, server + "/api/daily_papers") == 0
    saved = site / "content/digests/hf-daily-papers-2025-01-16.json"
    assert saved.read_bytes() == (DATA / "hf-daily-papers.json").read_bytes()
    out = capsys.readouterr().out
    assert f"saved {saved}" in out and "5 papers (hf-json" in out
    assert len(list((site / "content/papers").glob("*.md"))) == 5
    # The same response again is the same file, and changes nothing.
    before = tree_bytes(site / "content")
    assert fetch(site, server + "/api/daily_papers") == 0
    assert tree_bytes(site / "content") == before
    assert fetch(site, server + "/api/query") == 0
    assert (site / "content/digests/arxiv-api-2025-01-16.xml").is_file()
    # arXiv's category feeds, RSS and Atom (rss.arxiv.org/rss/CATS, /atom/CATS).
    assert fetch(site, server + "/rss/cs.CV+cs.LG") == 0
    assert (site / "content/digests/arxiv-feed-2025-01-16.xml").is_file()
    assert fetch(site, server + "/atom/cs.CV") == 0
    assert (site / "content/digests/arxiv-feed-2025-01-16-2.xml").is_file()
    assert "4 papers (arxiv-rss" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("path", "message", "extra"),
    [
        ("/gone", "HTTP 404 Not Found", ()),
        ("/boom", "HTTP 500 Internal Server Error", ()),
        ("/rate", "the server says 'Rate exceeded.'; wait a few minutes and try again", ()),
        ("/rate-ok", "the server says 'Rate exceeded.'; wait a few minutes and try again", ()),
        ("/slow", "no answer within 0.5 seconds", ("--timeout", "0.5")),
        (
            "/api/query-error",
            "the arXiv API answered with an error: incorrect id format for 1234.12345",
            (),
        ),
        (
            "/page",
            "expected HF daily-papers JSON, an arXiv API or category feed, or the bioRxiv API's JSON; got html",
            (),
        ),
        (
            "/rss/cs.CV",
            "no papers in this feed (arXiv announces none on weekends and holidays)",
            (),
        ),
    ],
)
def test_fetch_failures_are_clear_and_write_nothing(
    tmp_path: Path,
    server: str,
    capsys: pytest.CaptureFixture[str],
    path: str,
    message: str,
    extra: tuple[str, ...],
) -> None:
    site = copy_site(tmp_path / "site", content=False)
    before = tree_bytes(site)
    assert fetch(site, server + path, *extra) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert tree_bytes(site) == before


def test_fetch_refuses_other_schemes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site = copy_site(tmp_path / "site", content=False)
    assert fetch(site, "file:///etc/passwd") == 1
    assert "not an http(s) URL: 'file:///etc/passwd'" in capsys.readouterr().err


def test_fetch_reports_a_refused_connection(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = copy_site(tmp_path / "site", content=False)
    assert fetch(site, "http://127.0.0.1:9/") == 1
    assert "cannot connect" in capsys.readouterr().err

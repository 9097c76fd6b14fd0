"""The maintainer's day: live reload, progress output, a new site in one command, hosting
under a sub-path with nginx, and a README that documents every command."""

from __future__ import annotations

import io
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from bs4 import BeautifulSoup

from conftest import (
    EXAMPLE_DIGEST,
    REPO,
    build_site,
    copy_site,
    open_first_result_under_digest,
)
from labdigest.cli import main, parser
from labdigest.progress import NORMAL, QUIET, VERBOSE, Progress

DEPTHMASTER = "depthmaster-taming-diffusion-models-for-monocular-depth-estimation"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(check: Any, timeout: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


# ---- live reload -------------------------------------------------------------------------


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[tuple[Path, str, subprocess.Popen[str]]]:
    site = copy_site(tmp_path / "site")
    port = free_port()
    log = open(tmp_path / "serve.log", "w+", encoding="utf-8")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "labdigest",
            "--config",
            str(site / "site.toml"),
            "serve",
            "--port",
            str(port),
            "--no-search",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until(
            lambda: "serving" in (tmp_path / "serve.log").read_text(encoding="utf-8"),
            60,
            "the server",
        )
        yield site, url, process
    finally:
        process.terminate()
        process.wait(10)
        log.close()


@pytest.mark.browser
def test_serve_rebuilds_reloads_and_shows_errors_until_fixed(
    live_server: Any, browser: Any
) -> None:
    site, url, process = live_server
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(f"{url}papers/{DEPTHMASTER}/")
        assert (
            page.inner_text("h1")
            == "DepthMaster: Taming Diffusion Models for Monocular Depth Estimation"
        )
        paper = site / "content/papers" / f"{DEPTHMASTER}.md"
        paper.write_text(
            paper.read_text(encoding="utf-8").replace(
                "title: 'DepthMaster:", "title: 'Edited DepthMaster:", 1
            ),
            encoding="utf-8",
        )
        wait_until(
            lambda: page.inner_text("h1").startswith("Edited DepthMaster"),
            what="the reload after an edit",
        )

        toml = site / "site.toml"
        good = toml.read_text(encoding="utf-8")
        toml.write_text(
            good.replace('language = "en"', 'language = "en"\ncolour = "red"'), encoding="utf-8"
        )
        wait_until(
            lambda: page.locator("#labdigest-build-error").count() == 1, what="the error overlay"
        )
        overlay = page.inner_text("#labdigest-build-error")
        assert f"{toml}:" in overlay and "unknown key 'colour'" in overlay
        assert process.poll() is None  # the server keeps running
        page.reload()  # a page opened while the build is broken shows the error too
        wait_until(
            lambda: page.locator("#labdigest-build-error").count() == 1,
            what="the overlay after reload",
        )
        assert page.inner_text("h1").startswith("Edited DepthMaster")  # the last good site

        toml.write_text(good, encoding="utf-8")
        wait_until(lambda: page.locator("#labdigest-build-error").count() == 0, what="recovery")
        assert page.inner_text("h1").startswith("Edited DepthMaster")
        assert page.evaluate(
            "document.querySelector('script[src=\"/__labdigest/livereload.js\"]') !== null"
        )
    finally:
        context.close()
    published = (site / "public/index.html").read_text(encoding="utf-8")
    assert "__labdigest" not in published  # the reload script is never written to the site


# ---- progress ----------------------------------------------------------------------------


def test_serve_on_a_port_in_use_or_out_of_range_says_so_before_building(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(site / "site.toml")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["--config", config, "serve", "--port", str(port)]) == 1
    assert capsys.readouterr().err == (
        f"labdigest: error: cannot serve at 127.0.0.1:{port}: Address already in use\n"
    )
    assert not (site / "public").exists()  # told before the first build, not after
    with pytest.raises(SystemExit) as exit_status:
        main(["--config", config, "serve", "--port", "99999"])
    assert exit_status.value.code == 2
    assert "not a port number (0 to 65535): '99999'" in capsys.readouterr().err


def test_progress_draws_a_bar_on_a_terminal_and_summary_lines_elsewhere() -> None:
    terminal = io.StringIO()
    progress = Progress(terminal, NORMAL, tty=True)
    for done in range(0, 101, 50):
        progress.advance("render", done, 100)
    progress.stage_done("render", 1.5, "100 files")
    assert "\rrender   ██████████████" in terminal.getvalue()
    assert terminal.getvalue().endswith("\r\x1b[Krender      1500 ms  100 files\n")

    log = io.StringIO()
    progress = Progress(log, NORMAL, tty=False)
    progress.advance("render", 50, 100)
    progress.stage_done("render", 1.5, "100 files")
    progress.detail("a detail")
    assert log.getvalue() == "render      1500 ms  100 files\n"

    verbose = io.StringIO()
    Progress(verbose, VERBOSE, tty=False).detail("a detail")
    assert verbose.getvalue() == "  a detail\n"
    quiet = io.StringIO()
    Progress(quiet, QUIET, tty=True).stage_done("render", 1.0, "x")
    assert quiet.getvalue() == ""


def test_quiet_and_verbose_builds(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(site / "site.toml"), "build", "--no-search", "-q"]) == 0
    assert capsys.readouterr().out == ""
    assert (
        main(["--config", str(site / "site.toml"), "build", "--no-search", "--base-url", "/other/"])
        == 0
    )
    out = capsys.readouterr().out
    for stage in ["config", "content", "topics", "related", "render", "write"]:
        assert re.search(rf"^{stage}\s+\d+ ms  ", out, re.M), stage
    assert re.search(r"^built 67 papers, \d+ files in [\d.]+ s; topics: ", out, re.M)
    digest = site / "content/digests/hf-papers-mar-11.txt"
    assert main(["--config", str(site / "site.toml"), "ingest", str(digest), "-v"]) == 0
    assert "67 unchanged" in capsys.readouterr().out


# ---- a new site ------------------------------------------------------------------------------


def test_init_makes_a_site_that_builds_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "newlab"
    assert main(["init", str(target)]) == 0
    assert "next: cd" in capsys.readouterr().out
    assert (target / "templates/paper.html").read_bytes() == (
        REPO / "templates/paper.html"
    ).read_bytes()
    assert "#" in (target / "site.toml").read_text(encoding="utf-8")  # commented settings
    # No digest yet: nothing for Pagefind to index, and the build still succeeds.
    assert main(["--config", str(target / "site.toml"), "build"]) == 0
    home = BeautifulSoup((target / "public/index.html").read_text(encoding="utf-8"), "html.parser")
    assert home.h1.get_text() == "No digests yet"
    search_page = (target / "public/search/index.html").read_text(encoding="utf-8")
    assert "No papers yet" in search_page and "search.js" not in search_page
    shutil.copy(EXAMPLE_DIGEST, target / "content/digests/")
    if shutil.which("make"):  # (Windows has none: the README gives its two commands)
        command = ["make", "-C", str(target), f"LABDIGEST={sys.executable} -m labdigest"]
    else:
        command = [sys.executable, "-m", "labdigest", "--config", str(target / "site.toml")]
        assert subprocess.run([*command, "ingest", str(target / "content/digests")]).returncode == 0
        command.append("build")
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "built 67 papers" in result.stdout  # written out before the quick exit
    assert len(list((target / "public/papers").glob("*/index.html"))) == 67
    assert main(["init", str(target)]) == 1
    assert "exists and is not empty" in capsys.readouterr().err


def test_the_command_exits_at_once_but_lets_a_profiler_write_its_numbers(
    tmp_path: Path,
) -> None:
    """labdigest skips the interpreter's teardown (cli.run), except under a profiler."""
    command = [sys.executable, "-m", "labdigest", "init", str(tmp_path / "lab")]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0 and "next: cd" in result.stdout
    profile = tmp_path / "init.prof"
    command = [sys.executable, "-m", "cProfile", "-o", str(profile), *command[1:-1]]
    result = subprocess.run([*command, str(tmp_path / "lab2")], capture_output=True, check=False)
    assert result.returncode == 0 and profile.stat().st_size > 0


def test_a_build_whose_reader_leaves_early_still_completes(site: Path) -> None:
    """`labdigest build | head -1`: the pipe closes after the first line; the build must
    go on to the end, without a traceback."""
    command = [sys.executable, "-m", "labdigest", "--config", str(site / "site.toml")]
    process = subprocess.Popen(
        [*command, "build", "--no-search", "-v"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.readline().startswith("inputs")
    process.stdout.close()
    errors = process.stderr.read()
    assert process.wait() == 0
    assert "Traceback" not in errors and "BrokenPipe" not in errors
    assert len(list((site / "public/papers").glob("*/index.html"))) == 67


# ---- hosting with nginx under /digest/ ---------------------------------------------------

NGINX = Path("/usr/sbin/nginx")


@pytest.fixture(scope="module")
def nginx_digest(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not NGINX.exists():
        if os.environ.get("CI"):
            pytest.fail("nginx is not installed (apt-get install nginx-light); .ci/run installs it")
        pytest.skip("nginx is not installed")
    root = copy_site(tmp_path_factory.mktemp("nginx"))
    public = build_site(root, base_url="/digest/")
    work = root / "nginx"
    work.mkdir()
    port = free_port()
    config = work / "nginx.conf"
    config.write_text(
        f"""
user root;
worker_processes 1;
daemon off;
pid {work}/nginx.pid;
error_log {work}/error.log;
events {{ worker_connections 64; }}
http {{
  include /etc/nginx/mime.types;
  access_log off;
  client_body_temp_path {work}/body;
  proxy_temp_path {work}/proxy;
  fastcgi_temp_path {work}/fastcgi;
  uwsgi_temp_path {work}/uwsgi;
  scgi_temp_path {work}/scgi;
  map $uri $pagefind_encoding {{
    ~\\.(pagefind|pf_meta|pf_index|pf_fragment|pf_filter)$ gzip;
  }}
  server {{
    listen 127.0.0.1:{port};
    location /digest/pagefind/ {{
      alias {public}/pagefind/;
      types {{ application/wasm pagefind; text/javascript js; application/json json; }}
      add_header Content-Encoding $pagefind_encoding;
    }}
    location /digest/ {{
      alias {public}/;
      error_page 404 /digest/404.html;
    }}
  }}
}}
""",
        encoding="utf-8",
    )
    process = subprocess.Popen(
        [str(NGINX), "-c", str(config), "-p", str(work)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}/digest/"

    def answers() -> bool:
        try:
            return urllib.request.urlopen(url, timeout=1).status == 200
        except OSError:
            return False

    try:
        wait_until(answers, 20, "nginx")
        yield url
    finally:
        process.terminate()
        process.wait(10)


@pytest.mark.linux_only
def test_nginx_under_a_sub_path_serves_every_link(nginx_digest: str) -> None:
    seen: set[str] = set()
    queue = deque([nginx_digest])
    while queue:
        url = queue.popleft()
        if url in seen:
            continue
        seen.add(url)
        with urllib.request.urlopen(url, timeout=5) as response:
            assert response.status == 200, url
            body = response.read()
            kind = response.headers.get("Content-Type", "")
        if "text/html" not in kind:
            continue
        for tag in BeautifulSoup(body, "html.parser").find_all(["a", "link", "script"]):
            target = tag.get("href") or tag.get("src")
            if not target:
                continue
            absolute = urljoin(url, target).split("#")[0]
            parts = urlsplit(absolute)
            if (
                parts.netloc == urlsplit(nginx_digest).netloc
                and parts.path.startswith("/digest/")
                and not parts.query
            ):
                queue.append(absolute)
    assert len(seen) > 67 * 2 + 12 * 3  # every page, feed, BibTeX file and asset was fetched
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(nginx_digest + "no/such/page/", timeout=5)
    assert missing.value.code == 404 and b"Page not found" in missing.value.read()


@pytest.mark.browser
@pytest.mark.linux_only
def test_search_works_behind_nginx(nginx_digest: str, browser: Any) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        encodings = {}
        page.on(
            "response",
            lambda r: encodings.update(
                {r.url.rsplit(".", 1)[1]: r.headers.get("content-encoding")}
            ),
        )
        page.goto(nginx_digest + "search/?q=DepthMaster")
        page.wait_for_selector("#search-results li.result", timeout=15_000)
        # The README's recipe: Pagefind's gzip files go out as such; the browser unpacks them.
        assert encodings["pf_fragment"] == encodings["pagefind"] == "gzip"
        assert encodings["js"] is None
        open_first_result_under_digest(page)
    finally:
        context.close()


# ---- the README -----------------------------------------------------------------------------


def all_options() -> dict[str, list[str]]:
    commands: dict[str, list[str]] = {}
    main_parser = parser()
    subparsers = next(
        a for a in main_parser._actions if a.__class__.__name__ == "_SubParsersAction"
    )
    for name, sub in subparsers.choices.items():  # type: ignore[attr-defined]
        commands[name] = [
            o
            for action in sub._actions
            for o in action.option_strings
            if o.startswith("--") and o != "--help"
        ]
    commands[""] = [
        o
        for action in main_parser._actions
        for o in action.option_strings
        if o.startswith("--") and o != "--help"
    ]
    return commands


def test_readme_documents_every_command_and_option() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    missing = []
    for command, options in all_options().items():
        if (
            command
            and f"labdigest [--config FILE] {command}" not in readme
            and f"labdigest {command}" not in readme
        ):
            missing.append(command)
        missing += [f"{command} {o}" for o in options if o not in readme]
    assert missing == []
    assert readme.index("make test") < 200  # the two commands come first


@pytest.mark.parametrize("command", ["", "ingest", "fetch", "build", "check", "serve", "init"])
def test_help_works_for_every_command(command: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "labdigest", *([command] if command else []), "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0 and result.stdout.startswith("usage: labdigest")
    assert set(all_options()[command]) <= set(re.findall(r"--[a-z-]+", result.stdout))

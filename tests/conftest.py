"""Fixture sites: copies of this repository's own site (site.toml, templates, content)
in temporary folders, built with the real pipeline."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from labdigest.build import BuildOptions, build

REPO = Path(__file__).resolve().parent.parent
# The example site the tests build: its settings and content, frozen here so that the
# repository's own content/ and site.toml stay the maintainer's to change.
EXAMPLE = Path(__file__).resolve().parent / "data" / "example"
EXAMPLE_DIGEST = EXAMPLE / "content" / "digests" / "hf-papers-mar-11.txt"


def copy_site(target: Path, *, content: bool = True) -> Path:
    """The example site: its site.toml, the templates and (optionally) its content/."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(EXAMPLE / "site.toml", target / "site.toml")
    shutil.copytree(REPO / "templates", target / "templates")
    if content:
        shutil.copytree(EXAMPLE / "content", target / "content")
    else:
        (target / "content" / "digests").mkdir(parents=True)
    return target


def build_site(root: Path, **options: object) -> Path:
    build(BuildOptions(config_path=root / "site.toml", **options))  # type: ignore[arg-type]
    out = options.get("out")
    return out if isinstance(out, Path) else root / "public"


def add_front_matter(paper: Path, lines: str) -> None:
    """Add front-matter lines (YAML, ending in a newline) to a paper file, before its
    'source:' line, as a maintainer editing it by hand would."""
    text = paper.read_text(encoding="utf-8")
    paper.write_text(text.replace("source:", lines + "source:", 1), encoding="utf-8")


def tree_bytes(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


# Pagefind writes its filter and metadata files differently on each run (its issue #638),
# and so the entry file that names them, in each shard (pagefind/1/, …): everything else
# must be byte-identical.
PAGEFIND_UNSTABLE = re.compile(
    r"pagefind/[0-9]+/(filter/.*|pagefind\.[^/]*\.pf_meta|pagefind-entry\.json)"
)


def pagefind_nondeterministic(path: str) -> bool:
    return PAGEFIND_UNSTABLE.fullmatch(path) is not None


def stable(files: dict[str, bytes]) -> dict[str, bytes]:
    """A site's files but those Pagefind writes differently on each run."""
    return {path: data for path, data in files.items() if not pagefind_nondeterministic(path)}


DEPTHMASTER_TITLE = "DepthMaster: Taming Diffusion Models for Monocular Depth Estimation"


def open_first_result_under_digest(page: Any) -> None:
    """Follow the first search result of a site hosted under /digest/ to its page: it
    must be DepthMaster's."""
    link = page.locator("#search-results li.result h2 a").first
    assert link.get_attribute("href").startswith("/digest/papers/")
    link.click()
    page.wait_for_load_state()
    assert page.inner_text("h1") == DEPTHMASTER_TITLE


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(
            "Debian's chromium is not installed (apt-get install chromium); .ci/run installs it"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return copy_site(tmp_path / "site")


@pytest.fixture(scope="session")
def example_public(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example site built at '/', with its Pagefind index."""
    root = copy_site(tmp_path_factory.mktemp("example"))
    return build_site(root)


@pytest.fixture(scope="session")
def example_public_subpath(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example site built for hosting under /digest/."""
    root = copy_site(tmp_path_factory.mktemp("example-sub"))
    return build_site(root, base_url="/digest/")


@pytest.fixture(scope="session")
def example_digest_text() -> str:
    return EXAMPLE_DIGEST.read_text(encoding="utf-8")


@pytest.fixture
def empty_site(tmp_path: Path) -> Iterator[Path]:
    yield copy_site(tmp_path / "empty", content=False)


def pytest_terminal_summary(terminalreporter: object) -> None:
    from test_search import FIRST_RESULT_TIMES, WARM_RESULT_TIMES

    if FIRST_RESULT_TIMES:
        import statistics

        median = statistics.median(FIRST_RESULT_TIMES)
        terminalreporter.write_line(  # type: ignore[attr-defined]
            f"search: first results {median:.0f} ms after opening /search/?q=… (median of "
            f"{len(FIRST_RESULT_TIMES)} queries, in order): {FIRST_RESULT_TIMES}"
        )
        warm = statistics.median(WARM_RESULT_TIMES)
        terminalreporter.write_line(  # type: ignore[attr-defined]
            f"search: {warm:.0f} ms when the browser has the site cached (median): {sorted(WARM_RESULT_TIMES)}"
        )

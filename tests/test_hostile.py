"""Hostile digests (tests/data/hostile/): every one gets a clear message naming the file
and line, writes nothing outside content/ and public/, loses nothing already there, and
exits 1 when nothing could be ingested. What does get in renders as inert text."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from conftest import add_front_matter, build_site, copy_site, tree_bytes
from labdigest.cli import main

HOSTILE = Path(__file__).parent / "data" / "hostile"

# file → (exit status, messages that stderr must contain; {path} is the digest's path)
CASES: dict[str, tuple[int, list[str]]] = {
    "html-everywhere.txt": (0, []),
    "jinja-and-markdown.txt": (0, []),
    "traversal-titles.txt": (
        0,
        [
            "{path}:19: abstract without a title, skipped: '..'",
            "{path}:21: abstract without a title, skipped: 'An abstract for a bare parent reference.'",
        ],
    ),
    "utf16-bom.txt": (0, []),
    "same-paper-twice.txt": (
        0,
        ["{path}:7: the same paper as line 3 ('The same paper!'); listed once"],
    ),
    "empty.txt": (1, ["{path}: no papers found in this digest", "no papers could be read"]),
    "chrome-only.txt": (1, ["{path}: no papers found in this digest"]),
    "latin1.txt": (1, ["{path}:3: not UTF-8 text (byte 0xe9); save the digest as UTF-8"]),
    "invalid-utf8.txt": (1, ["{path}:5: not UTF-8 text (byte 0xc3)"]),
    "nul-byte.txt": (1, ["{path}:5: contains a NUL character: not a text digest"]),
}


def outside_files(root: Path) -> dict[str, bytes]:
    """Every file of the site folder except content/ and public/ (and the build lock and
    the build cache, which labdigest rewrites as it likes: all derived, never trusted)."""
    return {
        path: data
        for path, data in tree_bytes(root).items()
        if not path.startswith(("content/", "public/", ".labdigest-cache/"))
        and path != ".public.lock"
    }


@pytest.fixture(scope="module")
def built_example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_site(tmp_path_factory.mktemp("hostile-base"))
    build_site(root, search=False)
    return root


@pytest.fixture
def victim(built_example: Path, tmp_path: Path) -> Path:
    root = tmp_path / "site"
    shutil.copytree(built_example, root)
    return root


def ingest_and_build(
    root: Path, digest: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    before_content = tree_bytes(root / "content")
    before_outside = outside_files(root)
    status = main(["--config", str(root / "site.toml"), "ingest", str(digest)])
    err = capsys.readouterr().err
    after_content = tree_bytes(root / "content")
    lost = {p for p, data in before_content.items() if after_content.get(p) != data}
    assert lost == set(), f"changed or lost: {lost}"
    assert outside_files(root) == before_outside
    assert "Traceback" not in err
    assert main(["--config", str(root / "site.toml"), "build", "--no-search"]) == 0
    capsys.readouterr()
    return status, err


def assert_inert(public: Path) -> None:
    """No page carries markup that came from a digest: scripts only from our assets, no
    images, frames or event handlers, and no javascript: or data: links."""
    for page in public.rglob("*.html"):
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        for script in soup.find_all("script"):
            if script.get("type") == "application/ld+json":  # data, never run; must stay JSON
                json.loads(script.string)
                continue
            assert script.get("src", "").endswith(("/assets/site.js", "/assets/search.js")), page
            assert not script.string, page
        assert soup.find(["img", "iframe", "object", "embed", "b", "u"]) is None, page
        for tag in soup.find_all(True):
            assert not any(name.startswith("on") for name in tag.attrs), (page, tag)
        for link in soup.find_all(href=True):
            assert not link["href"].lower().startswith(("javascript:", "data:", "vbscript:")), page


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_digest(name: str, victim: Path, capsys: pytest.CaptureFixture[str]) -> None:
    digest = victim / "incoming" / name
    digest.parent.mkdir()
    shutil.copy(HOSTILE / name, digest)
    expected_status, messages = CASES[name]
    status, err = ingest_and_build(victim, digest, capsys)
    assert status == expected_status, err
    for message in messages:
        assert message.format(path=digest) in err
    assert_inert(victim / "public")


def test_html_everywhere_shows_as_text(victim: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ingest_and_build(victim, HOSTILE / "html-everywhere.txt", capsys)
    page = (
        victim
        / "public/papers/script-alert-title-script-attention-img-src-x-onerror-alert-1-is-all-you-need/index.html"
    )
    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    assert (
        soup.h1.get_text()
        == '<script>alert("title")</script> Attention <img src=x onerror=alert(1)> Is All You Need'
    )
    assert '<iframe src="javascript:alert(2)"></iframe>' in soup.select_one(".abstract").get_text()


def test_template_syntax_is_not_evaluated(victim: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ingest_and_build(victim, HOSTILE / "jinja-and-markdown.txt", capsys)
    texts = " ".join(
        p.read_text(encoding="utf-8") for p in (victim / "public/papers").rglob("index.html")
    )
    assert "{{ config.__class__.__init__.__globals__ }}" in texts
    assert "{{ 7*7 }}" in texts and "loop" * 10 not in texts


def test_path_like_titles_stay_inside_content(
    victim: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _ = ingest_and_build(victim, HOSTILE / "traversal-titles.txt", capsys)
    assert status == 0
    new = sorted(p.name for p in (victim / "content/papers").iterdir())
    for slug in ["etc-passwd.md", "etc-shadow.md", "c-windows-win-ini.md", "con-paper.md"]:
        assert slug in new


def test_a_megabyte_abstract_and_a_huge_title(
    victim: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    digest = victim / "huge.txt"
    abstract = ("We study very long abstracts. " * 35_000).strip()
    title = "T" * 10_000
    digest.write_text(
        f"Mar 11\n\nA Normal Title\n\n{abstract}\n\n{title}\n\nIts abstract.\n", encoding="utf-8"
    )
    status, err = ingest_and_build(victim, digest, capsys)
    assert status == 0
    assert f"{digest}:7: abstract without a title, skipped: 'TTTT" in err
    assert f"{digest}:9: title without an abstract, skipped: 'Its abstract.'" not in err
    page = victim / "public/papers/a-normal-title/index.html"
    assert len(page.read_bytes()) > 1_000_000


def test_digest_file_names_are_made_safe(victim: Path, capsys: pytest.CaptureFixture[str]) -> None:
    weird = victim / "incoming" / " ..evil ☃ name;rm -rf.txt"
    weird.parent.mkdir()
    weird.write_text("Mar 11\n\nA Title\n\nAn abstract.\n", encoding="utf-8")
    status, _ = ingest_and_build(victim, weird, capsys)
    assert status == 0
    assert sorted(p.name for p in (victim / "content/digests").iterdir()) == [
        "evil-name-rm-rf.txt",
        "hf-papers-mar-11.txt",
    ]


def test_markup_in_site_toml_topics_is_escaped(victim: Path) -> None:
    toml = victim / "site.toml"
    toml.write_text(
        toml.read_text(encoding="utf-8")
        .replace('name = "Depth estimation"', 'name = "<script>alert(1)</script>Depth"')
        .replace(
            'description = "Monocular, metric',
            'description = "<img src=x onerror=alert(1)> Monocular, metric',
        ),
        encoding="utf-8",
    )
    build_site(victim, search=False)
    assert_inert(victim / "public")
    soup = BeautifulSoup(
        (victim / "public/topics/depth-estimation/index.html").read_text(encoding="utf-8"),
        "html.parser",
    )
    assert soup.h1.get_text() == "<script>alert(1)</script>Depth"


def test_markup_in_authors_and_hand_edited_fields_is_escaped(victim: Path) -> None:
    paper = (
        victim
        / "content/papers/foundpose-unseen-object-pose-estimation-with-foundation-features.md"
    )
    add_front_matter(
        paper,
        "authors:\n- <script>alert(1)</script>\n- '\"><img src=x onerror=alert(2)>'\n"
        "links:\n  code: https://example.org/?a=1&b='x'\n",
    )
    public = build_site(victim, search=False)
    assert_inert(public)
    soup = BeautifulSoup(
        (
            public
            / "papers/foundpose-unseen-object-pose-estimation-with-foundation-features/index.html"
        ).read_text(encoding="utf-8"),
        "html.parser",
    )
    assert (
        soup.select_one(".authors").get_text().strip()
        == '<script>alert(1)</script>, "><img src=x onerror=alert(2)>'
    )
    assert [a["href"] for a in soup.select(".links a")] == ["https://example.org/?a=1&b='x'"]


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:x",
        "//evil.example/",
        'https://example.org/"><script>alert(3)</script>',
    ],
)
def test_links_that_are_not_http_are_refused_with_their_line(victim: Path, url: str) -> None:
    from labdigest.errors import ContentError

    paper = (
        victim
        / "content/papers/foundpose-unseen-object-pose-estimation-with-foundation-features.md"
    )
    add_front_matter(paper, f"links:\n  project: '{url}'\n")
    with pytest.raises(ContentError) as error:
        build_site(victim, search=False)
    assert str(error.value) == f"{paper}:6: link 'project' must be an http:// or https:// URL"


def test_an_interrupted_write_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    from labdigest.output import files

    target = tmp_path / "paper.md"
    target.write_text("hand-edited", encoding="utf-8")

    def fail(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError):
        files.write_atomic(target, b"new text")
    assert target.read_text(encoding="utf-8") == "hand-edited"
    assert [p.name for p in tmp_path.iterdir()] == ["paper.md"]

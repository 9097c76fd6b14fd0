"""`labdigest check` on the example and on sites broken in the ways it must catch."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import build_site
from labdigest.cli import main


def run_check(site: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str, str]:
    status = main(["--config", str(site / "site.toml"), "check", *extra])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_the_example_site_is_clean(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    build_site(site, search=False)
    status, out, err = run_check(site, capsys, "--strict")
    assert (status, err) == (0, "")
    assert out.startswith("checked 86 pages, ") and out.endswith(": 0 problems, 0 warnings\n")


def test_broken_links_and_anchors_are_problems_with_file_and_line(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    public = build_site(site, search=False)
    shutil.rmtree(
        public / "papers" / "foundpose-unseen-object-pose-estimation-with-foundation-features"
    )
    page = public / "topics" / "index.html"
    text = page.read_text(encoding="utf-8")
    lines = text.splitlines()
    number = next(i for i, line in enumerate(lines, 1) if line.startswith("<h1>"))
    page.write_text(
        text.replace("<h1>Topics</h1>", '<h1>Topics <a href="#nowhere">x</a></h1>'),
        encoding="utf-8",
    )
    status, _, err = run_check(site, capsys)
    assert status == 1
    assert f"error: {page}:{number}: no element with id 'nowhere' for '#nowhere'" in err
    assert (
        "broken link '/papers/foundpose-unseen-object-pose-estimation-with-foundation-features/'"
        in err
    )
    home = public / "index.html"
    assert f"error: {home}:" in err


def test_orphans_and_unsorted_papers_are_warnings(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    public = build_site(site, search=False)
    (public / "forgotten.html").write_text("<!doctype html><title>x</title>", encoding="utf-8")
    paper = site / "content/papers/off-topic.md"
    paper.write_text(
        "---\ntitle: Medieval Poetry\ndate: 2026-03-11\ndigests:\n- hf-papers-mar-11\n---\n\nSonnets.\n",
        encoding="utf-8",
    )
    status, _, err = run_check(site, capsys)
    assert status == 0
    assert f"warning: {public / 'forgotten.html'}: orphan page (no page links to it)" in err
    assert f"warning: {paper}: in no topic" in err
    assert run_check(site, capsys, "--strict")[0] == 1


def test_invalid_files_and_duplicates_are_all_reported_at_once(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build_site(site, search=False)
    papers = site / "content/papers"
    original = papers / "foundpose-unseen-object-pose-estimation-with-foundation-features.md"
    shutil.copy(original, papers / "foundpose-again.md")
    (papers / "broken-one.md").write_text("---\ntitle: [x\n---\n", encoding="utf-8")
    (papers / "broken-two.md").write_text("---\ntitle: T\ndate: never\n---\n", encoding="utf-8")
    status, _, err = run_check(site, capsys)
    assert status == 1
    assert f"error: {papers / 'broken-one.md'}:2: invalid YAML" in err
    assert f"error: {papers / 'broken-two.md'}:3: 'date' is required, as YYYY-MM-DD" in err
    assert (
        "duplicate papers with title 'foundpose unseen object pose estimation with foundation features': "
        in err
    )
    assert str(papers / "foundpose-again.md") in err


def test_check_without_a_built_site_says_so(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run_check(site, capsys)
    assert status == 1
    assert "no built site to check; run 'labdigest build' first" in err

"""Ingesting into content/: paper files, manifests, re-ingest and hand edits."""

from __future__ import annotations

import datetime as dt
import errno
import os
import shutil
import stat
from pathlib import Path

import pytest

from conftest import EXAMPLE_DIGEST, tree_bytes
from labdigest import content, markup
from labdigest.ingest import ingest
from labdigest.output import files
from labdigest.views import plain_text


def _ingest(content_dir: Path, *paths: Path) -> None:
    report = ingest(list(paths), content_dir, today=dt.date(2026, 11, 28))
    assert report.problems == []


def test_example_papers_committed_in_the_repository_match_a_fresh_ingest(tmp_path: Path) -> None:
    """content/papers/ in the repo is exactly what ingesting the example digest gives."""
    _ingest(tmp_path / "content", EXAMPLE_DIGEST)
    repo_content = EXAMPLE_DIGEST.parent.parent
    fresh = tree_bytes(tmp_path / "content" / "papers")
    assert len(fresh) == 67
    assert fresh == tree_bytes(repo_content / "papers")
    assert tree_bytes(tmp_path / "content" / "manifests") == tree_bytes(repo_content / "manifests")


def test_paper_file_has_the_contract_fields_and_renders_the_literal_abstract(
    tmp_path: Path,
) -> None:
    _ingest(tmp_path / "content", EXAMPLE_DIGEST)
    papers = {p.title: p for p in content.load_papers(tmp_path / "content")}
    paper = papers["Towards Exact Computation of Inductive Bias"]
    assert paper.date == "2026-03-11"
    assert paper.digests == ("hf-papers-mar-11",)
    assert paper.source == "digests/hf-papers-mar-11.txt"
    text = (tmp_path / "content" / "papers" / f"{paper.slug}.md").read_text(encoding="utf-8")
    assert text.startswith(
        "---\ntitle: Towards Exact Computation of Inductive Bias\ndate: 2026-03-11\n"
    )
    # An abstract with TeX-ish backslashes shows them as they were.
    aptv2 = papers[
        "APTv2: Benchmarking Animal Pose Estimation and Tracking with a Large-scale Dataset and Beyond"
    ]
    assert "named \\posetrackmethodname and" in plain_text(markup.render(aptv2.body))


def test_reingest_changes_no_byte(tmp_path: Path) -> None:
    _ingest(tmp_path / "content", EXAMPLE_DIGEST)
    before = tree_bytes(tmp_path / "content")
    _ingest(tmp_path / "content", EXAMPLE_DIGEST)
    _ingest(tmp_path / "content", tmp_path / "content" / "digests" / EXAMPLE_DIGEST.name)
    assert tree_bytes(tmp_path / "content") == before


def test_hand_edits_survive_reingest_and_a_second_digest(tmp_path: Path) -> None:
    content_dir = tmp_path / "content"
    _ingest(content_dir, EXAMPLE_DIGEST)
    path = content_dir / "papers" / "towards-exact-computation-of-inductive-bias.md"
    original = path.read_text(encoding="utf-8")
    edited = original.replace(
        "title: Towards Exact Computation of Inductive Bias",
        "title: Towards Exact Computation of Inductive Bias (our reading group, week 3)",
    ).replace(
        "source: digests/hf-papers-mar-11.txt\n",
        "source: digests/hf-papers-mar-11.txt\ntopics:\n- generalization-theory\nreviewer: Ada\n",
    )
    edited += "\nOur notes: see the *appendix*.\n"
    path.write_text(edited, encoding="utf-8")

    _ingest(content_dir, EXAMPLE_DIGEST)
    assert path.read_text(encoding="utf-8") == edited  # same digest again: untouched

    second = tmp_path / "hf-2026-03-12.txt"
    second.write_text(
        "Mar 12\n\nTowards Exact Computation of Inductive Bias\n\nA different copy of the abstract.\n\n"
        "A Brand New Paper\n\nIts abstract.\n",
        encoding="utf-8",
    )
    _ingest(content_dir, second)
    papers = {p.slug: p for p in content.load_papers(content_dir)}
    kept = papers["towards-exact-computation-of-inductive-bias"]
    # The title was edited, so only the manifest still knows this paper by its old title.
    assert kept.title == "Towards Exact Computation of Inductive Bias (our reading group, week 3)"
    assert kept.digests == ("hf-papers-mar-11", "hf-2026-03-12")
    assert kept.topics == ("generalization-theory",)
    assert dict(kept.extra) == {"reviewer": "Ada"}
    assert kept.body.endswith("Our notes: see the *appendix*.")
    assert kept.date == "2026-03-11"
    assert papers["a-brand-new-paper"].digests == ("hf-2026-03-12",)
    assert len(papers) == 68
    manifest = (content_dir / "manifests" / "hf-2026-03-12.yml").read_text(encoding="utf-8")
    assert manifest.index("towards-exact-computation") < manifest.index("a-brand-new-paper")
    # The digest from outside content/ was kept as received.
    assert (content_dir / "digests" / "hf-2026-03-12.txt").read_bytes() == second.read_bytes()


@pytest.mark.skipif(os.name == "nt", reason="POSIX file modes")
def test_files_get_the_umasks_permissions_and_a_rewrite_keeps_a_files_own(
    tmp_path: Path,
) -> None:
    """A lab shares content/ (a group, a web server): ingest makes files as any editor does,
    and a paper a maintainer made private stays so when a new digest updates it."""
    content_dir = tmp_path / "content"
    previous = os.umask(0o022)
    try:
        _ingest(content_dir, EXAMPLE_DIGEST)
        path = content_dir / "papers" / "towards-exact-computation-of-inductive-bias.md"
        manifest = content_dir / "manifests" / "hf-papers-mar-11.yml"
        assert stat.S_IMODE(path.stat().st_mode) == stat.S_IMODE(manifest.stat().st_mode) == 0o644
        path.chmod(0o640)
        second = tmp_path / "hf-2026-03-12.txt"
        second.write_text(
            "Mar 12\n\nTowards Exact Computation of Inductive Bias\n\nAnother abstract.\n",
            encoding="utf-8",
        )
        _ingest(content_dir, second)
        assert "hf-2026-03-12" in path.read_text(encoding="utf-8")  # rewritten...
        assert stat.S_IMODE(path.stat().st_mode) == 0o640  # ...and still private
        assert not list(content_dir.rglob(".*.tmp"))
    finally:
        os.umask(previous)


def test_the_same_paper_twice_in_one_digest_is_listed_once_and_reported(tmp_path: Path) -> None:
    digest = tmp_path / "d.txt"
    digest.write_text("Mar 11\n\nSame Title\n\nOne.\n\nsame  title\n\nTwo.\n", encoding="utf-8")
    report = ingest([digest], tmp_path / "content", today=dt.date(2026, 11, 28))
    assert [str(p) for p in report.problems] == [
        f"{digest}:7: the same paper as line 3 ('same title'); listed once"
    ]
    assert [p.slug for p in content.load_papers(tmp_path / "content")] == ["same-title"]


def test_slug_collisions_get_a_deterministic_suffix(tmp_path: Path) -> None:
    digest = tmp_path / "d.txt"
    shared = "A Study of " + "Very Long Titles " * 6
    digest.write_text(
        f"Mar 11\n\n{shared}One\n\nOne.\n\n{shared}Two\n\nTwo.\n\n日本語\n\nThree.\n\n中文\n\nFour.\n",
        encoding="utf-8",
    )
    _ingest(tmp_path / "content", digest)
    base = "a-study-of-very-long-titles-very-long-titles-very-long-titles-very-long-titles"
    assert [e.slug for e in content.load_digests(tmp_path / "content")[0].papers] == [
        base,
        base[:78].rstrip("-") + "-2",
        "paper",
        "paper-2",
    ]


def test_a_paper_deleted_by_hand_is_not_recreated(tmp_path: Path) -> None:
    content_dir = tmp_path / "content"
    _ingest(content_dir, EXAMPLE_DIGEST)
    (content_dir / "papers" / "towards-exact-computation-of-inductive-bias.md").unlink()
    report = ingest([EXAMPLE_DIGEST], content_dir)
    assert not (content_dir / "papers" / "towards-exact-computation-of-inductive-bias.md").exists()
    assert any("deleted by hand" in note for note in report.files[0].store.notes)


def test_nothing_readable_exits_1_with_the_file_named(tmp_path: Path, capsys: object) -> None:
    from labdigest.cli import main

    shutil.copy(EXAMPLE_DIGEST.parent.parent.parent / "site.toml", tmp_path / "site.toml")
    chrome_only = tmp_path / "chrome.txt"
    chrome_only.write_text("new\n\nSubscribe\n", encoding="utf-8")
    status = main(["--config", str(tmp_path / "site.toml"), "ingest", str(chrome_only)])
    err = capsys.readouterr().err  # type: ignore[attr-defined]
    assert status == 1
    assert f"{chrome_only}: no papers found in this digest" in err
    assert not (tmp_path / "content" / "papers").exists()


def test_a_new_file_appears_whole_or_not_at_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new file is written as a temporary file and renamed: it appears complete, and a
    write that fails (a full disk) leaves no file and nothing half-written behind."""
    target = tmp_path / "papers" / "new-paper.md"
    target.parent.mkdir()
    files.write_atomic(target, b"---\ntitle: A new paper\n---\n")
    assert target.read_bytes() == b"---\ntitle: A new paper\n---\n"
    assert [p.name for p in target.parent.iterdir()] == ["new-paper.md"]

    real_open = open

    def disk_full(path: object, mode: str = "r", *args: object, **kwargs: object) -> object:
        stream = real_open(path, mode, *args, **kwargs)  # type: ignore[call-overload]
        if "x" in mode:
            stream.close()
            raise OSError(errno.ENOSPC, "No space left on device")
        return stream

    monkeypatch.setattr("builtins.open", disk_full)
    with pytest.raises(OSError, match="No space"):
        files.write_atomic(target.parent / "another.md", b"text")
    assert [p.name for p in target.parent.iterdir()] == ["new-paper.md"]

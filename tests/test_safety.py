"""Crash safety and determinism: a killed build leaves the previous site complete, two
builds at once do not mix, and the same content builds the same bytes."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import build_site, copy_site, pagefind_nondeterministic, stable, tree_bytes
from labdigest import parallel
from labdigest.cli import main
from labdigest.content import paper_to_text, parse_paper
from labdigest.errors import BuildLockedError, LabdigestError
from labdigest.models import OutputFile
from labdigest.output.lock import build_lock
from labdigest.output.stage import Stage, staged_output


def many_papers(root: Path, copies: int) -> None:
    """Grow the example to 67 x copies papers, so that a build takes long enough to kill."""
    papers = root / "content" / "papers"
    originals = sorted(papers.glob("*.md"))
    for number in range(2, copies + 1):
        for path in originals:
            paper = parse_paper(path.read_text(encoding="utf-8"), path)
            copy = dataclasses.replace(paper, title=f"{paper.title} (copy {number})")
            (papers / f"{path.stem}-copy-{number}.md").write_text(
                paper_to_text(copy), encoding="utf-8"
            )


def _holds_files(folder: Path) -> bool:
    try:
        return any(path.is_file() for path in folder.iterdir())
    except OSError:  # (gone meanwhile)
        return False


def test_a_build_killed_midway_leaves_the_previous_site_complete(tmp_path: Path) -> None:
    root = copy_site(tmp_path / "site")
    many_papers(root, 15)
    public = build_site(root, search=False)
    before = tree_bytes(public)
    # A change, so that the killed build would have written something different.
    (root / "templates" / "paper.html").write_text(
        (root / "templates" / "paper.html")
        .read_text(encoding="utf-8")
        .replace("Abstract", "Summary"),
        encoding="utf-8",
    )
    command = [
        sys.executable,
        "-m",
        "labdigest",
        "--config",
        str(root / "site.toml"),
        "build",
        "--no-search",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    stage = None
    while time.monotonic() < deadline and stage is None:
        stages = [p for p in root.glob(".public.stage-*") if _holds_files(p)]
        stage = stages[0] if stages else None
        time.sleep(0.001)
    assert stage is not None, "the build never started writing"
    process.kill()
    process.wait()
    assert tree_bytes(public) == before  # the previous site, complete and unchanged

    # The next build clears what the killed one left and completes.
    build_site(root, search=False)
    assert not list(root.glob(".public.stage-*"))
    assert "Summary" in (
        public / "papers" / next(iter(os.listdir(public / "papers"))) / "index.html"
    ).read_text(encoding="utf-8")


def sigint_handler(_: object) -> object:
    return signal.getsignal(signal.SIGINT)


def pid_of(item: int) -> tuple[int, int]:
    return item, os.getpid()


def test_ctrl_c_is_left_to_the_build_by_its_worker_processes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Ctrl+C reaches every process of the terminal's group: each worker printed a
    KeyboardInterrupt traceback of its own over the build's one-line exit. They leave it
    to the build, which stops them."""
    monkeypatch.setattr(parallel, "force", True)
    own = signal.getsignal(signal.SIGINT)  # (a job started in the background ignores it)
    ignored = parallel.process_map(sigint_handler, range(8))
    assert ignored == [signal.SIG_IGN] * 8
    assert signal.getsignal(signal.SIGINT) == own  # the build's own, untouched


def test_work_on_several_cores_comes_back_in_order_and_errors_keep_their_place(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(parallel, "force", True)
    done = parallel.process_map(pid_of, range(40))
    assert [item for item, _ in done] == list(range(40))
    assert all(pid != os.getpid() for _, pid in done)
    with pytest.raises(LabdigestError, match=r"x\.md:3: no title"):
        parallel.process_map(fail_on_seven, range(40))
    # Below the threshold, or turned off, the same work is done in this process.
    monkeypatch.setattr(parallel, "force", False)
    assert {pid for _, pid in parallel.process_map(pid_of, range(40))} == {os.getpid()}
    # Work given to a worker meanwhile: its result, or its error, when asked for.
    monkeypatch.setattr(parallel, "force", True)
    with parallel.Pool() as pool:
        later = pool.later(1, pid_of, 7)
        failing = pool.later(1, fail_on_seven, 7)
        assert later()[1] != os.getpid()
        with pytest.raises(LabdigestError, match=r"x\.md:3: no title"):
            failing()


def fail_on_seven(item: int) -> int:
    if item == 7:
        raise LabdigestError("no title", "content/papers/x.md", 3)
    return item


WORKERS_THAT_WAIT = """
import os, sys, time
from pathlib import Path
from labdigest import parallel
from labdigest.output.lock import build_lock

def work(item):
    os.write(1, f"{os.getpid()}\\n".encode())  # one write: workers' lines never interleave
    time.sleep(60)

if __name__ == "__main__":
    sys.modules["__main__"].work = work
    with build_lock(Path(sys.argv[1])):
        parallel.force = True
        parallel.process_map(work, range(8))
"""


@pytest.mark.linux_only
def test_a_killed_builds_workers_neither_keep_its_lock_nor_outlive_it(tmp_path: Path) -> None:
    """Killed from outside (the OOM killer, kill -9), a build must not leave workers that
    hold its lock (the next build would be refused) or go on writing."""
    out = tmp_path / "public"
    script = tmp_path / "waiting.py"
    script.write_text(WORKERS_THAT_WAIT, encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, str(script), str(out)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    workers = [int(process.stdout.readline()) for _ in range(min(2, parallel.workers()))]
    process.kill()
    process.wait()
    with build_lock(out):  # free at once
        pass
    deadline = time.monotonic() + 10
    while any(map(running, workers)):
        assert time.monotonic() < deadline, "a worker outlived its build"
        time.sleep(0.01)


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


def test_a_second_build_at_the_same_time_is_refused_clearly(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    public = build_site(site, search=False)
    before = tree_bytes(public)
    paper = (
        site / "content/papers/foundpose-unseen-object-pose-estimation-with-foundation-features.md"
    )
    paper.write_text(
        paper.read_text(encoding="utf-8") + "\nEdited.\n", encoding="utf-8"
    )  # work to do
    with build_lock(public.absolute()):
        with pytest.raises(BuildLockedError):
            build_site(site, search=False)
        status = main(["--config", str(site / "site.toml"), "build", "--no-search"])
    assert status == 1
    assert "another labdigest build is writing" in capsys.readouterr().err
    assert tree_bytes(public) == before


def test_what_a_killed_build_left_beside_the_site_is_cleared(site: Path) -> None:
    public = build_site(site, search=False)
    before = tree_bytes(public)
    for leftover in (".public.stage-0badc0de", ".public.aside-0badc0de"):
        (site / leftover / "papers").mkdir(parents=True)
        (site / leftover / "papers" / "half.html").write_text("<p>half", "utf-8")
    paper = site / "content/papers/towards-exact-computation-of-inductive-bias.md"
    paper.write_text(paper.read_text("utf-8") + "\nEdited.\n", "utf-8")
    build_site(site, search=False)
    assert sorted(p.name for p in site.glob(".public.*")) == [
        ".public.fingerprint",
        ".public.lock",
        ".public.manifest.json",
    ]
    assert tree_bytes(public).keys() == before.keys()


def test_output_paths_cannot_leave_the_output_folder(tmp_path: Path) -> None:
    for bad in [
        "../escape.html",
        "/etc/passwd",
        "a/../../b",
        "a\\b",
        "",
        "./a",
        "a//b",
        "a/",
        "C:x",
    ]:
        with pytest.raises(LabdigestError), staged_output(tmp_path / "public") as stage:
            stage.add(OutputFile(bad, b"x"))
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    with (
        pytest.raises(LabdigestError, match="same output path"),
        staged_output(tmp_path / "public") as stage,
    ):
        stage.add(OutputFile("a.html", b"1"))
        stage.add(OutputFile("a.html", b"2"))
    assert not (tmp_path / "public").exists()


def test_a_staged_site_replaces_the_live_one_only_when_complete(tmp_path: Path) -> None:
    out = tmp_path / "public"
    with staged_output(out) as stage:
        stage.add(OutputFile("index.html", b"one"))
        stage.add(OutputFile("old/page.html", b"old"))
    assert tree_bytes(out) == {"index.html": b"one", "old/page.html": b"old"}
    with pytest.raises(RuntimeError), staged_output(out) as stage:
        stage.add(OutputFile("index.html", b"two"))
        raise RuntimeError("a failed build")
    assert tree_bytes(out) == {"index.html": b"one", "old/page.html": b"old"}
    with staged_output(out) as stage:
        assert isinstance(stage, Stage) and stage.holds("index.html", "") is False
        stage.add(OutputFile("index.html", b"two"))
        stage.add(OutputFile("old", b"a file where a folder was"))
    assert tree_bytes(out) == {"index.html": b"two", "old": b"a file where a folder was"}


# ---- determinism -------------------------------------------------------------------------


def test_two_builds_with_search_are_byte_identical_but_for_pagefinds_known_files(
    site: Path, tmp_path: Path, browser: Any
) -> None:
    first = tree_bytes(build_site(site, out=tmp_path / "one"))
    second = tree_bytes(build_site(site, out=tmp_path / "two"))
    stable_first = {p: d for p, d in first.items() if not pagefind_nondeterministic(p)}
    stable_second = {p: d for p, d in second.items() if not pagefind_nondeterministic(p)}
    assert stable_first == stable_second
    # No page of ours names a file Pagefind writes differently on each run.
    unstable = {p.rsplit("/", 1)[-1] for p in first if pagefind_nondeterministic(p)}
    unstable |= {p.rsplit("/", 1)[-1] for p in second if pagefind_nondeterministic(p)}
    for path, data in stable_first.items():
        if not path.startswith("pagefind/"):
            assert not any(name.encode() in data for name in unstable), path
    assert any(p.startswith("pagefind/1/fragment/") for p in stable_first)
    assert any(p.startswith("pagefind/1/index/") for p in stable_first)
    # The files that differ still answer every query the same way.
    assert answers(browser, tmp_path / "one") == answers(browser, tmp_path / "two")


QUERIES = ["depth", "monocular depth", "pose estimation", "grokking", "diffusion", "llm", "zzzz"]


def answers(browser: Any, public: Path) -> list[Any]:
    from labdigest.serve import serve_in_background

    server, url = serve_in_background(public, "/")
    try:
        page = browser.new_page()
        page.goto(url + "404.html")
        result = page.evaluate(
            """async (queries) => {
                const pagefind = await import('/pagefind/1/pagefind.js');
                const out = [await pagefind.filters()];
                for (const q of queries) {
                    for (const filters of [{}, {topic: {any: ["Depth estimation"]}}, {year: "2026"}]) {
                        const search = await pagefind.search(q, {filters});
                        const data = await Promise.all(search.results.map(r => r.data()));
                        out.push([q, filters, search.filters, search.results.map(r => r.score),
                                  data.map(d => [d.url, d.meta.title, d.excerpt])]);
                    }
                }
                const sorted = await pagefind.search(null, {sort: {date: "desc"}});
                out.push(sorted.results.map(r => r.id));
                return out;
            }""",
            QUERIES,
        )
        page.close()
        return result  # type: ignore[no-any-return]
    finally:
        server.shutdown()
        shutil.rmtree(public / "never", ignore_errors=True)


# ---- rebuilds ------------------------------------------------------------------------------


def test_a_rebuild_with_nothing_changed_writes_nothing_and_a_change_rebuilds(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = ["--config", str(site / "site.toml"), "build", "--no-search"]
    assert main(config) == 0
    public = site / "public"
    before = tree_bytes(public)
    inode = public.stat().st_ino
    capsys.readouterr()
    assert main(config) == 0
    assert "nothing changed since the last build of 67 papers" in capsys.readouterr().out
    assert public.stat().st_ino == inode and tree_bytes(public) == before

    # An edit, a template change, a new option: each is a real rebuild, equal to a clean one.
    paper = (
        site / "content/papers/foundpose-unseen-object-pose-estimation-with-foundation-features.md"
    )
    paper.write_text(paper.read_text(encoding="utf-8") + "\nEdited.\n", encoding="utf-8")
    assert main(config) == 0
    assert "built 67 papers" in capsys.readouterr().out
    clean = build_site(site, out=site.parent / "clean", search=False)
    assert tree_bytes(public) == tree_bytes(clean)
    # It wrote only what changed, and left no stale file.
    paper.write_text(paper.read_text(encoding="utf-8") + "\nEdited again.\n", encoding="utf-8")
    assert main(config) == 0
    written = re.search(r"^write .* (\d+) written", capsys.readouterr().out, re.M)
    assert written and 0 < int(written.group(1)) < 40
    assert tree_bytes(public) == tree_bytes(
        build_site(site, out=site.parent / "clean2", search=False)
    )
    assert main([*config, "--base-url", "/digest/"]) == 0
    assert "built 67 papers" in capsys.readouterr().out
    # A hand-made change to the output is noticed too.
    (public / "index.html").unlink()
    shutil.rmtree(public / "topics")
    assert main([*config, "--base-url", "/digest/"]) == 0
    assert (public / "topics/index.html").is_file()


@pytest.mark.parametrize("in_workers", [False, True])
def test_search_switched_on_after_a_build_without_it_is_all_there(
    site: Path, in_workers: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The search shards a rebuild makes are new folders of the site, which the live
    site's listing never saw: none of their files is taken for a stale one (found by
    the differential test: every shard's fragment and index folders were deleted)."""
    monkeypatch.setattr(parallel, "force", in_workers)
    public = build_site(site, search=False)
    build_site(site, search=True)
    rebuilt = stable(tree_bytes(public))
    assert any(path.startswith("pagefind/1/fragment/") for path in rebuilt)
    assert rebuilt == stable(tree_bytes(build_site(site, out=site / "clean", search=True)))


def clean_copy_build(site: Path, target: Path) -> dict[str, bytes]:
    """The site's inputs built in a new folder: no cache, no earlier output."""
    fresh = target / "site"
    fresh.mkdir(parents=True)
    shutil.copy(site / "site.toml", fresh / "site.toml")
    shutil.copytree(site / "templates", fresh / "templates")
    shutil.copytree(site / "content", fresh / "content")
    return tree_bytes(build_site(fresh, search=False))


@pytest.mark.parametrize("in_workers", [False, True])
def test_what_no_build_made_is_gone_from_the_next_one(
    site: Path, tmp_path: Path, in_workers: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files dropped in by hand, and a search index no longer wanted, must be gone from
    the result of the next build, and a page changed or deleted by hand made again; whether the
    site's folders were listed here or (a large site's) by a worker process."""
    from labdigest.build import BuildOptions, build

    monkeypatch.setattr(parallel, "force", in_workers)

    paper = site / "content/papers/towards-exact-computation-of-inductive-bias.md"
    public = site / "public"

    def edit_and_build(text: str, *, search: bool = False) -> None:
        paper.write_text(paper.read_text("utf-8") + text, "utf-8")
        build(BuildOptions(config_path=site / "site.toml", search=search))

    edit_and_build("\nOne.\n", search=True)
    edit_and_build("\nTwo.\n")
    (public / "papers/towards-exact-computation-of-inductive-bias/notes.txt").write_text("x")
    (public / "stray.html").write_text("x")
    (public / "old-section" / "deep").mkdir(parents=True)
    (public / "old-section/deep/page.html").write_text("x")
    (public / "papers/a-later-paper").mkdir()  # made by hand before the paper exists
    (public / "papers/a-later-paper/draft.html").write_text("x")
    # A link to a folder outside: the link goes, never what it leads to.
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("mine", "utf-8")
    with contextlib.suppress(OSError):  # (Windows allows links to administrators only)
        (public / "papers/linked").symlink_to(outside, target_is_directory=True)
    # An untouched paper's page and BibTeX, changed by hand (one as long as it was).
    other = public / "papers/foundpose-unseen-object-pose-estimation-with-foundation-features"
    (other / "index.html").write_text("defaced", "utf-8")
    bib = (other / "cite.bib").read_bytes()
    (other / "cite.bib").write_bytes(bib.replace(b"@misc", b"@book"))
    (public / "404.html").unlink()  # a kept page deleted by hand
    edit_and_build("\nThree.\n")
    assert tree_bytes(public) == clean_copy_build(site, tmp_path / "three")  # no pagefind/
    assert not (public / "papers/linked").is_symlink()
    assert (outside / "keep.txt").read_text("utf-8") == "mine"
    later = paper.read_text("utf-8").replace(
        "title: Towards Exact Computation of Inductive Bias", "title: A Later Paper"
    )
    (paper.parent / "a-later-paper.md").write_text(later, "utf-8")
    edit_and_build("\nFour.\n")
    assert (public / "papers/a-later-paper/index.html").is_file()
    assert tree_bytes(public) == clean_copy_build(site, tmp_path / "four")
    assert not (public / "old-section").exists()


def test_a_site_an_older_labdigest_built_is_rebuilt_in_place(site: Path) -> None:
    """Earlier versions recorded their output in .public.files: their folder is still
    known as a labdigest site, and is rebuilt whole."""
    public = build_site(site, search=False)
    (site / ".public.manifest.json").rename(site / ".public.files")
    (site / ".public.fingerprint").unlink()
    (public / "stray.html").write_text("x", "utf-8")
    build_site(site, search=False)
    assert not (public / "stray.html").exists()
    assert (site / ".public.manifest.json").is_file()


@pytest.mark.parametrize(
    "damage",
    [
        lambda text: text[: len(text) // 2],  # cut short
        lambda text: text.replace('"sha1":["', '"sha1":["0', 1),  # an entry's digest wrong
        lambda text: re.sub(r'"size":\[\d+,', '"size":[', text),  # a column short of one
        lambda text: text.replace('"version":3', '"version":2'),  # an older labdigest's
    ],
)
def test_a_damaged_output_manifest_means_files_made_again(
    site: Path, tmp_path: Path, damage: Any
) -> None:
    """The manifest beside the site tells a build what the live site holds. Damaged, it
    is read as missing (or an entry as not matching): the files are made again, and the
    site is as a clean build makes it, strays removed as before."""
    public = build_site(site, search=False)
    manifest = site / ".public.manifest.json"
    manifest.write_text(damage(manifest.read_text("utf-8")), "utf-8")
    (site / ".public.fingerprint").unlink()
    page = public / "papers/towards-exact-computation-of-inductive-bias/index.html"
    page.write_text("edited by hand", "utf-8")
    build_site(site, search=False)
    assert tree_bytes(public) == clean_copy_build(site, tmp_path / "clean")


def test_rebuilds_from_the_cache_and_kept_pages_equal_clean_builds(
    site: Path, tmp_path: Path
) -> None:
    from labdigest.build import BuildOptions, build

    options = BuildOptions(config_path=site / "site.toml", search=False)
    papers = site / "content" / "papers"
    paper = papers / "foundpose-unseen-object-pose-estimation-with-foundation-features.md"
    build(options)

    def append(path: Path, text: str) -> None:
        path.write_text(path.read_text("utf-8") + text, "utf-8")

    def replace(path: Path, old: str, new: str) -> None:
        path.write_text(path.read_text("utf-8").replace(old, new, 1), "utf-8")

    edits = {
        # the end of an abstract: the paper's page changes, not its card in lists
        "abstract": lambda: append(paper, "\nEdited.\n"),
        "abstract again": lambda: append(paper, "\nEdited again.\n"),
        # a title: its card changes on topic, digest and related lists
        "title": lambda: replace(paper, "FoundPose", "FoundPose II"),
        # a paper joins a topic (as a new digest's do): the topic's other papers still show
        # the same tags, so their pages and cards are kept; only the counts change
        "new paper": lambda: (papers / "zebra-quokka-cartography.md").write_text(
            "---\ntitle: Zebra quokka cartography\ndate: 2026-03-12\n"
            "topics:\n- pose-estimation\n---\n\nQuokkas mapped by zebras.\n",
            "utf-8",
        ),
        "deleted paper": lambda: next(
            p for p in sorted(papers.glob("*.md")) if p != paper
        ).unlink(),
        # a paper taken out of its digest's manifest by hand: the digest's pages change
        "manifest": lambda: replace(
            next((site / "content/manifests").glob("*.yml")),
            "- slug: foundpose-unseen-object-pose-estimation-with-foundation-features\n",
            "- slug: foundpose-unseen-object-pose-estimation-with-foundation-features-x\n",
        ),
        "card template": lambda: append(site / "templates/_card.html", "<!-- card -->\n"),
        "topic rule": lambda: replace(site / "site.toml", '"depth maps"', '"depth maps", "pose"'),
        # a damaged cache is recomputed, not trusted
        "damaged cache": lambda: [
            *(
                p.write_bytes(b"not a pickle")
                for p in (site / ".labdigest-cache").rglob("*")
                if p.is_file()  # pickles, and compiled templates
            ),
            append(paper, "\nEdited once more.\n"),
        ],
    }
    rendered = {}
    for number, (name, edit) in enumerate(edits.items()):
        edit()
        report = build(options)
        assert not report.unchanged
        rendered[name] = report.written
        assert tree_bytes(site / "public") == clean_copy_build(site, tmp_path / str(number)), name
    # An edit to one paper's abstract renders its page, its BibTeX, and the files that
    # show it (feeds, topic and digest lists whose cards show its teaser, e-mails), and
    # keeps the other paper pages and lists.
    assert rendered["abstract"] < 15 and rendered["abstract again"] < 15
    # A title shows in lists too (related papers, topics, digest); a card template in all.
    assert rendered["abstract again"] < rendered["title"] < rendered["card template"]
    assert rendered["card template"] >= 67 + 12  # every paper page, every list
    assert rendered["new paper"] < 45, rendered


def test_files_a_build_does_not_read_leave_it_unchanged(site: Path) -> None:
    """The fingerprint that tells a build there is nothing to do covers the content files
    it reads: an editor's swap file or a note beside the papers is not a change."""
    from labdigest.build import BuildOptions, build

    options = BuildOptions(config_path=site / "site.toml", search=False)
    build(options)
    papers = site / "content" / "papers"
    (papers / ".towards-exact-computation-of-inductive-bias.md.swp").write_bytes(b"\0swap")
    (papers / "notes.txt").write_text("to read first\n", "utf-8")
    assert build(options).unchanged
    paper = papers / "towards-exact-computation-of-inductive-bias.md"
    paper.write_text(paper.read_text("utf-8") + "\nEdited.\n", "utf-8")
    assert not build(options).unchanged


def test_an_output_folder_that_holds_other_files_is_refused_and_left_alone(
    site: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A build replaces its whole output folder: pointed by mistake at the site itself,
    at a folder it reads, or at someone's documents, it must refuse and touch nothing."""
    documents = tmp_path / "documents"
    documents.mkdir()
    (documents / "thesis.tex").write_text("chapter one", "utf-8")
    before = tree_bytes(site)
    config = str(site / "site.toml")
    for out, reason in [
        (site, "holds the site itself"),
        (site / "content", "inside"),
        (site / "templates" / "built", "inside"),
        (documents, "holds files that no labdigest build made"),
    ]:
        assert main(["--config", config, "build", "--no-search", "--out", str(out)]) == 1
        assert reason in capsys.readouterr().err, out
    assert tree_bytes(site) == before
    assert (documents / "thesis.tex").read_text("utf-8") == "chapter one"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["documents", "site"]
    # An empty folder is fine, and so is a site an earlier build made.
    (tmp_path / "empty").mkdir()
    for _ in range(2):
        assert (
            main(["--config", config, "build", "--no-search", "--out", str(tmp_path / "empty")])
            == 0
        )


def test_builds_that_name_the_settings_file_otherwise_share_the_cache(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from labdigest.build import BuildOptions, build

    monkeypatch.chdir(site)
    build(BuildOptions(config_path=Path("site.toml"), search=False))  # as `make` does
    paper = site / "content/papers/towards-exact-computation-of-inductive-bias.md"
    paper.write_text(paper.read_text("utf-8") + "\nEdited.\n", "utf-8")
    report = build(BuildOptions(config_path=site / "site.toml", search=False))
    assert report.written < 6  # the edited paper's page, its feeds, papers.json


@pytest.mark.parametrize("in_workers", [False, True])
def test_a_failed_build_leaves_the_live_site_intact(
    site: Path, in_workers: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every paper page changes, then the topic template fails: paper pages were
    written into the stage before the error (or, on workers, while it happened), and
    none may reach the live site, nor be left beside it."""
    from labdigest import parallel
    from labdigest.build import BuildOptions, build

    monkeypatch.setattr(parallel, "force", in_workers)
    options = BuildOptions(config_path=site / "site.toml", search=False)
    build(options)
    live = tree_bytes(site / "public")
    base = site / "templates/base.html"
    base.write_text(base.read_text("utf-8").replace("<body>", "<body class=x>"), "utf-8")
    topic = site / "templates/topic.html"
    topic.write_text(topic.read_text("utf-8") + "{% if %}\n", "utf-8")
    with pytest.raises(LabdigestError, match=r"topic\.html"):
        build(options)
    assert tree_bytes(site / "public") == live
    assert not list(site.glob(".public.stage-*"))


def _write_later(begun: str, target: str) -> None:
    """A worker's write into the stage that takes a while (for the test below)."""
    Path(begun).touch()
    time.sleep(1)
    Path(target).write_text("late", "utf-8")


def test_a_block_left_by_an_error_waits_for_a_write_begun_on_a_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """papers.json is written by a worker while the build goes on (Pool.beside): when
    the build fails meanwhile, the block waits for the write before the stage is
    removed, or the worker would write into a stage no longer there (and make it again)."""
    monkeypatch.setattr(parallel, "force", True)
    begun, target = tmp_path / "begun", tmp_path / "stage/papers.json"
    target.parent.mkdir()
    with parallel.Pool() as pool:
        with pytest.raises(RuntimeError), pool.beside(1, _write_later, str(begun), str(target)):
            while not begun.exists():
                time.sleep(0.01)
            raise RuntimeError("a template failed")
        assert target.read_text("utf-8") == "late"  # (before the stage would be removed)


def test_a_build_failing_while_pagefind_indexes_leaves_the_live_site_and_index(
    site: Path,
) -> None:
    """Pagefind indexes the shards while the pages render: when a template fails
    meanwhile, the live site and its search index stay as they were, nothing of the
    failed build is left beside them, and the next build indexes the new records."""
    from labdigest.build import BuildOptions, build

    options = BuildOptions(config_path=site / "site.toml", search=True)
    build(options)
    live = tree_bytes(site / "public")
    record = site / "templates/search-record.html"
    record.write_text(record.read_text("utf-8").replace("</main>", "<p>Wombat</p></main>"))
    topic = site / "templates/topic.html"
    good_topic = topic.read_text("utf-8")
    topic.write_text(good_topic + "{% if %}\n", "utf-8")
    with pytest.raises(LabdigestError, match=r"topic\.html"):
        build(options)
    assert tree_bytes(site / "public") == live
    assert not list(site.glob(".public.*-*"))  # no stage, no folder set aside
    topic.write_text(good_topic, "utf-8")
    build(options)
    index = {
        path: data for path, data in tree_bytes(site / "public").items() if "pagefind/" in path
    }
    assert index and index.items().isdisjoint(
        (path, data) for path, data in live.items() if path.endswith(".pf_fragment")
    )  # every paper's fragment made anew, with the new record


def test_a_large_site_rendered_on_several_cores_equals_a_single_core_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from labdigest import parallel

    root = copy_site(tmp_path / "site")
    many_papers(root, 16)  # 1,072 papers: above the threshold for parallel work
    monkeypatch.setattr(parallel, "workers", lambda: 2)
    several = tree_bytes(build_site(root, out=tmp_path / "several", search=False))
    monkeypatch.setattr(parallel, "workers", lambda: 1)
    single = tree_bytes(build_site(root, out=tmp_path / "single", search=False))
    assert len(several) > 2000 and several == single


def test_a_build_failing_on_its_workers_exits_with_the_error_alone(
    tmp_path: Path,
) -> None:
    """`labdigest build` on a site large enough for worker processes (1,072 papers), a
    template failing in them: the command ends (nothing left waiting on a worker), with
    exit status 1 and one line naming the template and line, no traceback."""
    root = copy_site(tmp_path / "site")
    many_papers(root, 16)
    template = root / "templates/paper.html"
    lines = template.read_text(encoding="utf-8").splitlines()
    lines[20] = "{{ 1 / 0 }}"
    template.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "labdigest", "--config", str(root / "site.toml"), "build"],
        capture_output=True,
        text=True,
        timeout=300,  # (a hang, not a budget: the build takes seconds)
    )
    assert result.returncode == 1
    error_lines = [line for line in result.stderr.splitlines() if "labdigest: " in line]
    assert error_lines == [f"labdigest: error: {template}:21: ZeroDivisionError: division by zero"]
    assert "Traceback" not in result.stderr


def test_an_error_in_a_worker_process_keeps_its_file_and_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from labdigest import parallel
    from labdigest.errors import TemplateError

    root = copy_site(tmp_path / "site")
    many_papers(root, 16)
    template = root / "templates/paper.html"
    lines = template.read_text(encoding="utf-8").splitlines()
    lines[20] = "{{ paper.no_such_field }}"  # fails while the workers render paper pages
    template.write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.setattr(parallel, "workers", lambda: 2)
    with pytest.raises(TemplateError) as error:
        build_site(root, search=False)
    assert str(error.value).startswith(f"{template}:21: ") and "no_such_field" in str(error.value)

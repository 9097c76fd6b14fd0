"""labdigest as it runs on macOS and Windows: no fork, fcntl, sched_getaffinity,
register_at_fork or O_TMPFILE, and worker processes started with "spawn". The commands
run in processes whose every interpreter (worker processes too) starts with those taken
away (a sitecustomize module on PYTHONPATH), and must build, byte for byte, what a
normal build builds."""

from __future__ import annotations

import ast
import dataclasses
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import EXAMPLE, REPO, build_site, copy_site, stable, tree_bytes
from labdigest.content import paper_to_text, parse_paper

WITHOUT_POSIX = """
import multiprocessing, os, sys
for name in ("fork", "forkpty", "sched_getaffinity", "register_at_fork", "O_TMPFILE"):
    if hasattr(os, name):
        delattr(os, name)
sys.modules["fcntl"] = None  # import fcntl: ImportError, as on Windows
multiprocessing.set_start_method("spawn", force=True)
multiprocessing.get_all_start_methods = lambda: ["spawn"]
"""


@pytest.fixture(scope="module")
def portable_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("without-posix")
    (folder / "sitecustomize.py").write_text(WITHOUT_POSIX, encoding="utf-8")
    path = os.pathsep.join([str(folder), *filter(None, [os.environ.get("PYTHONPATH")])])
    return {**os.environ, "PYTHONPATH": path}


def labdigest(env: dict[str, str], site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "labdigest", "--config", str(site / "site.toml"), *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)


def test_the_mode_takes_the_posix_calls_away(portable_env: dict[str, str]) -> None:
    probe = (
        "import os, multiprocessing\n"
        "try:\n    import fcntl\nexcept ImportError:\n    print('no fcntl')\n"
        "print(hasattr(os, 'fork'), hasattr(os, 'sched_getaffinity'), "
        "hasattr(os, 'register_at_fork'), multiprocessing.get_start_method())"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], env=portable_env, capture_output=True, text=True
    )
    assert result.stdout.split("\n")[:2] == ["no fcntl", "False False False spawn"]


def test_ingest_and_build_of_the_example_equal_the_normal_ones(
    portable_env: dict[str, str], tmp_path: Path
) -> None:
    normal = copy_site(tmp_path / "normal", content=False)
    portable = copy_site(tmp_path / "portable", content=False)
    digest = EXAMPLE / "content" / "digests" / "hf-papers-mar-11.txt"
    for site in (normal, portable):
        (site / "content" / "digests" / digest.name).write_bytes(digest.read_bytes())
    from labdigest.cli import main

    config = str(normal / "site.toml")
    assert main(["--config", config, "ingest", str(normal / "content/digests")]) == 0
    result = labdigest(portable_env, portable, "ingest", str(portable / "content/digests"))
    assert result.returncode == 0, result.stderr
    assert tree_bytes(portable / "content") == tree_bytes(normal / "content")
    result = labdigest(portable_env, portable, "build")
    assert result.returncode == 0, result.stderr
    assert stable(tree_bytes(portable / "public")) == stable(tree_bytes(build_site(normal)))


def grown(root: Path, copies: int) -> Path:
    """The example grown to 67 x copies papers (3,015 for 45)."""
    papers = root / "content" / "papers"
    for path in sorted(papers.glob("*.md")):
        paper = parse_paper(path.read_text(encoding="utf-8"), path)
        for number in range(2, copies + 1):
            copy = dataclasses.replace(paper, title=f"{paper.title} (part {number})")
            (papers / f"{path.stem}-part-{number}.md").write_text(
                paper_to_text(copy), encoding="utf-8"
            )
    return root


def test_a_3000_paper_site_builds_on_worker_processes_as_in_one(
    portable_env: dict[str, str], tmp_path: Path
) -> None:
    """Above 1,000 papers the stages run on worker processes (spawned, as always): the
    site must be the one a single process builds."""
    from labdigest import parallel

    site = grown(copy_site(tmp_path / "site"), 45)
    result = labdigest(portable_env, site, "build", "--no-search", "--out", str(tmp_path / "a"))
    assert result.returncode == 0, result.stderr
    enabled, parallel.enabled = parallel.enabled, False
    try:
        single = build_site(site, search=False, out=tmp_path / "b")
    finally:
        parallel.enabled = enabled
    built = tree_bytes(tmp_path / "a")
    assert len(built) > 6000 and built == tree_bytes(single)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_serve_builds_watches_and_serves_the_site(
    portable_env: dict[str, str], tmp_path: Path
) -> None:
    site = copy_site(tmp_path / "site")
    port = free_port()
    command = [
        sys.executable, "-m", "labdigest", "--config", str(site / "site.toml"), "serve",
        "--port", str(port), "--no-search",
    ]  # fmt: skip
    server = subprocess.Popen(
        command, env=portable_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as answer:
                    served = answer.read()
                break
            except OSError:
                assert server.poll() is None, server.stdout.read() if server.stdout else ""
                assert time.monotonic() < deadline, "the server never answered"
                time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(10)
    # It built the site (watching the sources: the page it serves has the reload script).
    normal = build_site(copy_site(tmp_path / "other"), search=False)
    assert tree_bytes(site / "public") == tree_bytes(normal)
    assert b"<h1" in served and b"/__labdigest/" in served


PLATFORM_ONLY = {
    "fork", "forkpty", "fcntl", "flock", "sched_getaffinity", "register_at_fork",
    "O_TMPFILE", "prctl", "renameat2", "SIGKILL", "getppid", "killpg",
}  # fmt: skip


def test_the_code_calls_nothing_platform_only() -> None:
    """No name that only Linux (or only POSIX) has appears in labdigest's code."""
    found = []
    for path in sorted((REPO / "src" / "labdigest").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            name = (
                node.attr if isinstance(node, ast.Attribute)
                else node.id if isinstance(node, ast.Name)
                else None
            )  # fmt: skip
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                modules.append(node.module)
            line = getattr(node, "lineno", 0)
            found += [f"{path.name}:{line}: {n}" for n in [name, *modules] if n in PLATFORM_ONLY]
    assert found == []

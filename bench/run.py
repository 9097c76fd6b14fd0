#!/usr/bin/env python3
"""`make bench`: time labdigest against its peers on the same N-paper digests, in one run.

For each size (1,000 and 10,000 papers; 100,000 too with BENCH_LARGE=1) it measures ingest,
a full build without search, a full (clean) build with search, a rebuild with nothing
changed, rebuilds after editing one paper (without search and with), a rebuild after a
new 67-paper digest, peak memory, and the search page in Chromium beside Pagefind's bare
API (bench/browser.py); with Hugo installed it runs ../shared/bench/peers.sh on the same
digest. The clean builds and the peers' run in rounds (BENCH_ROUNDS, 3), back to
back within a round, and the ratios are taken within each round: this machine's speed
changes by half from one minute to the next. It prints one table and writes it to bench/results.md.

BENCH_BASELINE=REV adds rows for labdigest at that git revision, measured in the same run
(its own venv under bench/work/, installed from the registries): before and after, side
by side.

Every tool builds into a new folder. Old bench folders are set aside during a run and
deleted at its end: on this machine's ext4 (no journal), creating files in the minutes
after deleting tens of thousands is up to five times slower (the kernel skips recently
freed inodes one by one; measured here: 0.9 s for 15,000 files, 3.8 s a minute after a
deletion, 0.9 s again four minutes later), which made whichever tool ran after a deletion
look slow. A run that starts within SETTLE_SECONDS of a deletion waits first."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from browser import search_timings

REPO = Path(__file__).resolve().parent.parent
SHARED_BENCH = REPO.parent / "shared" / "bench"
WORK = REPO / "bench" / "work"
TRASH = WORK / "trash"  # old bench folders, deleted when the run is over
SETTLE_SECONDS = 360  # ext4 skips inodes freed within 60 s, or 360 s while not written back
SETTLED_AT = WORK / "settled-at"  # when the file system is quiet again after a deletion
PYTHON = sys.executable
# Rounds of clean builds (labdigest's and the peers', back to back) per size, 100,000
# papers aside (one: a round takes ten minutes there).
ROUNDS = max(1, int(os.environ.get("BENCH_ROUNDS", "3")))


LAST_OUTPUT = {"stdout": ""}
# Python as a user runs it: caching compiled modules (some sandboxes turn that off, which
# adds a quarter of a second of compiling to every run of every tool written in Python).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def timed(command: list[str], cwd: Path) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of the command's largest process."""
    report = WORK / "time.txt"
    # The last step's files are written back to disk first: a step is not charged for
    # the writes of the one before it (a 10,000-paper build writes 20,000 files).
    os.sync()
    started = time.perf_counter()
    result = subprocess.run(
        ["/usr/bin/time", "-f", "%M", "-o", str(report), *command],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env=ENV,
    )
    elapsed = time.perf_counter() - started
    LAST_OUTPUT["stdout"] = result.stdout
    if result.returncode != 0:
        sys.exit(f"failed: {' '.join(command)}\n{result.stderr}")
    # A run takes minutes (35 with BENCH_LARGE): each step says what it measured.
    print(f"  {cwd.name}: {' '.join(command[2:])}: {elapsed:.2f} s", file=sys.stderr, flush=True)
    return elapsed, int(report.read_text().split()[-1])


def set_aside(path: Path) -> None:
    """Move an old bench folder out of the way (a rename); it is deleted at the end."""
    if path.exists():
        TRASH.mkdir(parents=True, exist_ok=True)
        path.rename(TRASH / f"{len(list(TRASH.iterdir()))}-{path.name}")


def make_site(size: int) -> Path:
    site = WORK / f"site-{size}-{TOOL['name']}"
    set_aside(site)
    (site / "content" / "digests").mkdir(parents=True)
    shutil.copy(REPO / "site.toml", site / "site.toml")
    shutil.copytree(Path(TOOL["source"]) / "templates", site / "templates")
    subprocess.run(
        [
            PYTHON,
            str(SHARED_BENCH / "make_digest.py"),
            str(size),
            str(site / "content" / "digests" / f"bench-{size}.txt"),
        ],
        check=True,
    )
    return site


def without_outputs(site: Path) -> None:
    """Set aside everything a build made (site, staging folder, cache): the next build is
    a clean one, as a first build on a new machine is."""
    for path in site.iterdir():
        if path.name not in {"content", "site.toml", "templates"}:
            set_aside(path)


# The labdigest being measured: this checkout's, or the baseline's (BENCH_BASELINE).
TOOL = {"python": PYTHON, "label": "labdigest", "source": str(REPO), "name": "labdigest"}
THIS = dict(TOOL)


def labdigest(*args: str) -> list[str]:
    return [TOOL["python"], "-m", "labdigest", *args]


def baseline(revision: str) -> str:
    """A venv with labdigest at `revision` installed (from a git worktree): its Python."""
    folder = WORK / f"baseline-{revision}"
    python = folder / "venv" / "bin" / "python"
    if not python.exists():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        subprocess.run(["git", "-C", str(REPO), "worktree", "prune"], check=True)
        source = folder / "source"
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "add", "--detach", str(source), revision],
            check=True,
        )
        subprocess.run([PYTHON, "-m", "venv", str(folder / "venv")], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", str(source)], check=True)
    return str(python)


def bench_size(size: int, tools: list[dict[str, str]]) -> list[dict[str, str]]:
    """Each tool's row (the baseline's first, if any). The clean builds and the new
    digests alternate between the tools, round by round: the machine's speed moves from
    minute to minute, and each tool gets the same share of its fast and slow minutes."""
    sites, rows = {}, {}
    for tool in tools:
        TOOL.update(tool)
        sites[tool["name"]] = site = make_site(size)
        rows[tool["name"]] = {"papers": f"{size:,}", "labdigest": tool["label"]}
        seconds, _ = timed(labdigest("ingest", "content/digests", "--date", "2026-03-11"), site)
        rows[tool["name"]]["ingest"] = f"{seconds:.2f}"
    rounds: dict[str, list[dict[str, float]]] = {tool["name"]: [] for tool in tools}
    for _ in range(1 if size >= 100_000 else ROUNDS):
        for tool in tools:
            TOOL.update(tool)
            rounds[tool["name"]].append(clean_builds(sites[tool["name"]], size))
    if len(tools) == 2:  # this checkout's clean build against the baseline's, per round
        for before, after in zip(*rounds.values(), strict=True):
            after["build ÷ baseline"] = after["build, no search"] / before["build, no search"]
    for tool in tools:
        TOOL.update(tool)
        row, times = rows[tool["name"]], rounds[tool["name"]]
        for column in dict.fromkeys(column for found in times for column in found):
            row[column] = over_rounds(column, [found[column] for found in times if column in found])
        rebuilds(sites[tool["name"]], row)
    digests: dict[str, list[tuple[float, int]]] = {tool["name"]: [] for tool in tools}
    for day in range(12, 12 + ROUNDS):
        for tool in tools:
            TOOL.update(tool)
            digests[tool["name"]].append(new_digest(sites[tool["name"]], day))
    for tool in tools:
        TOOL.update(tool)
        row = rows[tool["name"]]
        row.update(new_digests(digests[tool["name"]], row))
        if tool["name"] == "labdigest" and size <= 10_000:
            row.update(search_timings(sites[tool["name"]] / "public"))
    # The peers' columns last.
    return [
        {k: v for k, v in row.items() if k not in PEERS} | {k: row[k] for k in PEERS if k in row}
        for row in rows.values()
    ]


def rebuilds(site: Path, row: dict[str, str]) -> None:
    """A rebuild with nothing changed, and rebuilds after an edit (without search and
    with, as `make` rebuilds): the first, then the median of ROUNDS."""
    seconds, _ = timed(labdigest("build"), site)
    row["rebuild, unchanged"] = f"{seconds:.2f}"
    paper = next((site / "content" / "papers").glob("*.md"))
    edits = []
    for _ in range(1 + ROUNDS):
        paper.write_text(paper.read_text(encoding="utf-8") + "\nEdited.\n", encoding="utf-8")
        seconds, _ = timed(labdigest("build", "--no-search"), site)
        edits.append(seconds)
    row["first rebuild, 1 edit, no search"] = f"{edits[0]:.2f}"
    row["rebuild, 1 edit, no search"] = f"{statistics.median(edits[1:]):.2f}"
    indexed = []
    for _ in range(1 + ROUNDS):
        paper.write_text(paper.read_text(encoding="utf-8") + "\nEdited.\n", encoding="utf-8")
        seconds, _ = timed(labdigest("build"), site)
        indexed.append(seconds)
    row["rebuild, 1 edit, with search"] = f"{statistics.median(indexed[1:]):.2f}"


PEERS = [
    "hugo",
    "pagefind on hugo",
    "build ÷ hugo",
    "build+search ÷ (hugo+pagefind)",
    "new digest ÷ (hugo+pagefind)",
]


def new_digest(site: Path, day: int) -> tuple[float, int]:
    """A new 67-paper digest (of that day, other titles), ingested and built with search,
    as a lab's daily rebuild is: its seconds and peak memory."""
    digest = WORK / f"new-digest-{day}.txt"
    script = str(SHARED_BENCH / "make_digest.py")
    subprocess.run([PYTHON, script, "67", str(digest), "--seed", str(day)], check=True)
    text = digest.read_text("utf-8").replace("\nMar 11\n", f"\nMar {day}\n")
    digest.write_text(text, "utf-8")
    timed(labdigest("ingest", str(digest), "--date", f"2026-03-{day}"), site)
    return timed(labdigest("build"), site)


def new_digests(found: list[tuple[float, int]], row: dict[str, str]) -> dict[str, str]:
    """The new digests' median time and highest peak memory."""
    seconds = statistics.median(time for time, _ in found)
    columns = {
        "new digest, with search": f"{seconds:.2f}",
        "peak MiB (new digest)": f"{max(peak for _, peak in found) / 1024:.0f}",
    }
    if "hugo" in row and "pagefind on hugo" in row:
        peer = float(row["hugo"]) + float(row["pagefind on hugo"])
        columns["new digest ÷ (hugo+pagefind)"] = f"{seconds / peer:.2f}"
    return columns


def over_rounds(column: str, values: list[float]) -> str:
    """A column's figure over the rounds: the highest peak memory, the index's size (the
    same every round), else the median."""
    if column.startswith("peak"):
        return f"{max(values):.0f}"
    if column == "index MiB":
        return f"{values[-1]:.1f}"
    return f"{statistics.median(values):.2f}"


def clean_builds(site: Path, size: int) -> dict[str, float]:
    """One round of the clean builds, labdigest's and the peers' back to back: the
    machine's speed changes from minute to minute (by half, some days), so the ratios
    are taken within a round and the table gives each column's median over the rounds."""
    times: dict[str, float] = {}
    without_outputs(site)
    times["build, no search"], peak = timed(labdigest("build", "--no-search"), site)
    times["peak MiB (no search)"] = peak / 1024
    without_outputs(site)
    times["build + search"], peak = timed(labdigest("build"), site)
    # The largest process of the build: labdigest's, or a Pagefind it ran.
    times["peak MiB (with search)"] = peak / 1024
    bundle = site / "public" / "pagefind"
    index_bytes = sum(p.stat().st_size for p in bundle.rglob("*") if p.is_file())
    times["index MiB"] = index_bytes / 2**20
    found = peers(size) if TOOL["label"] == "labdigest" else {}
    if "hugo" in found:
        times["hugo"] = found["hugo"]
        times["build ÷ hugo"] = times["build, no search"] / found["hugo"]
    if "pagefind-on-hugo" in found:
        times["pagefind on hugo"] = found["pagefind-on-hugo"]
        peer = found["hugo"] + found["pagefind-on-hugo"]
        times["build+search ÷ (hugo+pagefind)"] = times["build + search"] / peer
    return times


def peers(size: int) -> dict[str, float]:
    if shutil.which("hugo") is None:
        return {}
    env = {**ENV, "PAGEFIND": f"{PYTHON} -m pagefind_bin", "PYTHON": PYTHON}
    work = WORK / f"peers-{size}"
    # Hugo, like labdigest, builds into a new folder (without this it would overwrite the
    # last run's files), and peers.sh finds no old Hugo site to delete before timing it.
    set_aside(work / "hugo")
    set_aside(work / "hugo-public")
    command = ["bash", str(SHARED_BENCH / "peers.sh"), str(size), str(work)]
    os.sync()  # nor are the peers charged for labdigest's
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    found = {}
    for line in result.stdout.splitlines():
        name, _, seconds, _ = line.split()
        found[name] = float(seconds)
        print(f"  peers-{size}: {name}: {found[name]:.2f} s", file=sys.stderr, flush=True)
    return found


def main() -> None:
    WORK.mkdir(parents=True, exist_ok=True)
    delete_trash()  # left by an interrupted run
    wait = float(SETTLED_AT.read_text()) - time.time() if SETTLED_AT.exists() else 0
    if wait > 0:
        print(f"waiting {wait:.0f} s: the file system settles after a large deletion")
        time.sleep(wait)
    sizes = [1_000, 10_000] + ([100_000] if os.environ.get("BENCH_LARGE") else [])
    revision = os.environ.get("BENCH_BASELINE")
    tools = [THIS]
    if revision:
        source = str(WORK / f"baseline-{revision}" / "source")
        before = {"python": baseline(revision), "source": source, "name": revision}
        tools.insert(0, before | {"label": f"at {revision}"})
    rows = []
    for size in sizes:
        rows += bench_size(size, tools)
    columns = list(dict.fromkeys(key for row in rows for key in row))
    lines = [
        "# labdigest benchmark",
        "",
        f"`make bench` on {os.cpu_count()} cores; seconds of wall time unless stated, all"
        " measured in one run (compare the ratios, not absolute times from another day).",
        f"The clean builds (labdigest's with and without search, Hugo and Pagefind over its"
        f" site) ran in {ROUNDS} rounds, each tool's builds back to back (one round at"
        " 100,000 papers): each column is the median of the rounds (peak memory the"
        " highest), and each ratio the median of the ratios within a round. With a"
        " baseline, its clean builds and new digests alternate with this checkout's, round"
        f" by round. Rebuilds after an edit: the median of {ROUNDS}.",
        "",
        "| " + " | ".join(columns) + " |",
        "|" + "---|" * len(columns),
        *("| " + " | ".join(row.get(c, "-") for c in columns) + " |" for row in rows),
        "",
    ]
    table = "\n".join(lines)
    print(table)
    (REPO / "bench" / "results.md").write_text(table, encoding="utf-8")
    delete_trash()


def delete_trash() -> None:
    if TRASH.exists():
        shutil.rmtree(TRASH)
        SETTLED_AT.write_text(str(time.time() + SETTLE_SECONDS))


if __name__ == "__main__":
    main()

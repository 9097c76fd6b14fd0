"""The command line. The only place that prints errors and chooses exit codes."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from labdigest import __version__
from labdigest.errors import LabdigestError
from labdigest.progress import NORMAL, QUIET, VERBOSE, Progress


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date as YYYY-MM-DD: {text!r}") from None


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"not a port number (0 to 65535): {text!r}")
    return int(text)


def parser() -> argparse.ArgumentParser:
    from labdigest.models import FORMAT_NAMES

    common = argparse.ArgumentParser(add_help=False)
    noise = common.add_mutually_exclusive_group()
    noise.add_argument("-q", "--quiet", action="store_true", help="print only warnings and errors")
    noise.add_argument("-v", "--verbose", action="store_true", help="print details of every step")

    main = argparse.ArgumentParser(
        prog="labdigest",
        description="Turn research-paper digests into a static, searchable website.",
    )
    main.add_argument("--version", action="version", version=f"labdigest {__version__}")
    main.add_argument(
        "--config",
        type=Path,
        default=Path("site.toml"),
        help="site settings (default: ./site.toml); content/, templates/ and public/ are "
        "found beside it",
    )
    commands = main.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ingest = commands.add_parser(
        "ingest",
        parents=[common],
        help="read digests into content/papers/",
        description="Read digests into one Markdown file per paper.",
    )
    ingest.add_argument(
        "paths", nargs="+", type=Path, metavar="PATH", help="digest files, or folders of them"
    )
    ingest.add_argument(
        "--date",
        type=_date,
        help="the digest's date, YYYY-MM-DD (default: the date line in the digest)",
    )
    ingest.add_argument(
        "--format",
        choices=("auto", *FORMAT_NAMES),
        default="auto",
        help="digest format (default: detected from the content)",
    )

    fetch = commands.add_parser(
        "fetch",
        parents=[common],
        help="download a daily-papers or arXiv API response, then ingest it",
        description="Download an HF daily-papers JSON or arXiv API feed into content/digests/ "
        "under a dated name, then ingest it. Nothing is written when the download fails.",
    )
    fetch.add_argument("url", metavar="URL", help="e.g. https://huggingface.co/api/daily_papers")
    fetch.add_argument("--date", type=_date, help="the digest's date (default: today)")
    fetch.add_argument("--timeout", type=float, default=30.0, help="seconds to wait (default: 30)")

    enrich = commands.add_parser(
        "enrich",
        parents=[common],
        help="look up papers known by title alone in the arXiv API",
        description="Look up every paper with no arXiv id, DOI or link in the arXiv API by "
        "its title; a hit with the same title fills in what the paper lacks (id, authors, "
        "links, dates, categories) and changes nothing a maintainer wrote. One request every "
        "3 seconds; answers are kept, so a second run asks nothing it asked before.",
    )
    enrich.add_argument("--api-url", default=None, help="the API (default: arXiv's)")
    enrich.add_argument("--limit", type=int, help="look up at most this many papers")
    enrich.add_argument("--timeout", type=float, default=30.0, help="seconds to wait (default: 30)")

    build = commands.add_parser(
        "build",
        parents=[common],
        help="build the site into public/",
        description="Build the static site from content/.",
    )
    build.add_argument("--out", type=Path, help="output folder (default: public/ beside site.toml)")
    build.add_argument("--base-url", help="URL or path the site is served under, e.g. /digest/")
    build.add_argument("--no-search", action="store_true", help="skip the Pagefind index")
    build.add_argument("--strict", action="store_true", help="treat warnings as errors")

    check = commands.add_parser(
        "check",
        parents=[common],
        help="validate settings, papers and the built site's links",
        description="Validate site.toml and every paper file, check every internal link and "
        "#anchor of the built site, report orphan pages, papers in no topic and duplicate "
        "papers. Exit status 1 on problems (and on warnings with --strict).",
    )
    check.add_argument("--out", type=Path, help="built site to check (default: public/)")
    check.add_argument("--strict", action="store_true", help="treat warnings as problems")

    serve = commands.add_parser(
        "serve",
        parents=[common],
        help="preview the site, rebuilding and reloading on changes",
        description="Serve public/ on a local address. Watches content/, templates/ and "
        "site.toml, rebuilds on every change and reloads open pages; a build error shows "
        "in the terminal and over the page until it is fixed.",
    )
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)"
    )
    serve.add_argument("--port", type=_port, default=8000, help="port (default: 8000)")
    serve.add_argument(
        "--out", type=Path, help="folder to serve (default: public/ beside site.toml)"
    )
    serve.add_argument("--no-watch", action="store_true", help="serve only: no rebuild, no reload")
    serve.add_argument(
        "--no-search", action="store_true", help="rebuild without the search index (faster)"
    )

    init = commands.add_parser(
        "init",
        parents=[common],
        help="create a new site in a folder",
        description="Create a new site: a commented site.toml, content/digests/, the default "
        "templates to customize, a Makefile and a .gitignore. It builds at once.",
    )
    init.add_argument("directory", type=Path, metavar="DIR", help="a new or empty folder")
    return main


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    progress = Progress(verbosity=QUIET if args.quiet else VERBOSE if args.verbose else NORMAL)
    commands = {
        "ingest": _ingest,
        "fetch": _fetch,
        "enrich": _enrich,
        "build": _build,
        "check": _check,
        "serve": _serve,
        "init": _init,
    }
    try:
        return commands[args.command](args, progress)
    except LabdigestError as error:
        print(f"labdigest: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader of the output left before its last lines
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing to flush to
        return 1


def run() -> int:
    """The `labdigest` command (and `python -m labdigest`): main(), then an exit that skips
    tearing the interpreter down. A 10,000-paper build leaves hundreds of thousands of
    objects that exit would free one by one (0.2 s of a 3 s rebuild); by then every file
    is written and closed, and the pools of workers are gone. Under a profiler, tracer or
    coverage tool the exit is the usual one, so that they can write what they measured."""
    code = main()
    if sys.getprofile() is not None or sys.gettrace() is not None:
        return code
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BrokenPipeError):  # `labdigest build | head`
            stream.flush()
    os._exit(code)


def _content_dir(args: argparse.Namespace) -> Path:
    return Path(args.config).absolute().parent / "content"


def _fetch(args: argparse.Namespace, progress: Progress) -> int:
    from labdigest.fetch import fetch

    path = fetch(
        args.url, _content_dir(args), date=args.date or dt.date.today(), timeout=args.timeout
    )
    if progress.verbosity >= NORMAL:
        print(f"saved {path}")
    args.paths, args.format = [path], "auto"
    return _ingest(args, progress)


def _enrich(args: argparse.Namespace, progress: Progress) -> int:
    from labdigest.enrich import API_URL, enrich

    report = enrich(
        _content_dir(args),
        api_url=args.api_url or API_URL,
        limit=args.limit,
        timeout=args.timeout,
        on_paper=lambda done, total: progress.advance("enrich", done, total),
    )
    for problem in report.problems:
        print(f"labdigest: warning: {problem}", file=sys.stderr)
    if progress.verbosity >= NORMAL:
        print(
            f"{report.candidates} papers known by title alone: {len(report.found)} found on "
            f"arXiv, {len(report.unmatched)} not found, {len(report.problems)} not asked "
            f"({report.asked} requests, {report.cached} answers from the cache)"
        )
    if progress.verbosity >= VERBOSE:
        for slug in report.found:
            print(f"  found {slug}")
    nothing_asked = report.problems and not report.asked and not report.cached
    return 1 if nothing_asked else 0


def _ingest(args: argparse.Namespace, progress: Progress) -> int:
    from labdigest.build import without_cycle_collection
    from labdigest.ingest import ingest

    with without_cycle_collection():
        report = ingest(
            args.paths,
            _content_dir(args),
            date=args.date,
            format=args.format,
            on_file=lambda done, total: progress.advance("ingest", done, total),
        )
    for file in report.files:
        for note in file.notes:
            if progress.verbosity >= NORMAL:
                print(f"{file.path}: note: {note}", file=sys.stderr)
        for problem in (*file.problems, *file.store.problems):
            print(f"{problem}", file=sys.stderr)
        if file.digest_id:
            store = file.store
            progress.stage_done(
                "ingest",
                file.seconds,
                f"{file.path}: {file.papers} papers ({file.format}, digest {file.digest_id} of "
                f"{file.date}): {len(store.added)} new, {len(store.updated)} updated, "
                f"{len(store.unchanged)} unchanged",
            )
            for slug in store.added:
                progress.detail(f"new {slug}")
            for slug in store.updated:
                progress.detail(f"updated {slug}")
    if report.papers_read == 0:
        print("labdigest: error: no papers could be read", file=sys.stderr)
        return 1
    return 0


def _build(args: argparse.Namespace, progress: Progress) -> int:
    from labdigest.build import BuildOptions, build

    options = BuildOptions(
        config_path=args.config,
        out=args.out,
        base_url=args.base_url,
        search=not args.no_search,
        strict=args.strict,
    )
    started = time.perf_counter()
    report = build(options, progress)
    total = time.perf_counter() - started  # (the related line's wait is within render's)
    for warning in report.warnings:
        print(f"labdigest: warning: {warning}", file=sys.stderr)
    if progress.verbosity >= NORMAL:
        topics = ", ".join(f"{slug} {count}" for slug, count in report.topics.items())
        if report.unchanged:
            print(f"nothing changed since the last build of {report.papers} papers")
        else:
            counts = f"{report.papers} papers, {report.files} files"
            print(f"built {counts} in {total:.2f} s; topics: {topics}")
    return 0


def _check(args: argparse.Namespace, progress: Progress) -> int:
    from labdigest.check import check

    report = check(args.config, args.out)
    for problem in report.problems:
        print(f"error: {problem}", file=sys.stderr)
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if progress.verbosity >= NORMAL:
        print(
            f"checked {report.pages} pages, {report.links} internal links: "
            f"{len(report.problems)} problems, {len(report.warnings)} warnings"
        )
    failed = report.problems or (args.strict and report.warnings)
    return 1 if failed else 0


def _init(args: argparse.Namespace, progress: Progress) -> int:
    from labdigest.init import init

    created = init(args.directory)
    if progress.verbosity >= NORMAL:
        for path in created:
            progress.detail(str(path))
        print(
            f"created {len(created)} files in {args.directory}; next: cd {args.directory} && make"
        )
    return 0


def _first_build(out: Path, rebuild: Callable[[], str | None], *, watching: bool) -> None:
    """Build the site to serve if there is none yet (with --no-watch there must be one)."""
    if (out / "index.html").is_file():
        return
    if not watching:
        raise LabdigestError(f"{out} has no built site; run 'labdigest build' first")
    error = rebuild()
    if error is not None and not (out / "index.html").is_file():
        raise LabdigestError(f"the first build failed: {error}")


def _serve(args: argparse.Namespace, progress: Progress) -> int:
    import threading

    from labdigest import config as config_stage
    from labdigest.build import BuildOptions, build
    from labdigest.serve import Broadcaster, make_server, watch_and_rebuild

    site = config_stage.load(args.config)
    root = Path(args.config).absolute().parent
    out = args.out or root / "public"
    options = BuildOptions(config_path=args.config, out=out, search=not args.no_search)

    def rebuild() -> str | None:
        try:
            build(options, progress)
        except LabdigestError as error:
            print(f"labdigest: error: {error}", file=sys.stderr)
            return str(error)
        if progress.verbosity >= NORMAL:
            print("rebuilt; reloading open pages", flush=True)
        return None

    live = None if args.no_watch else Broadcaster()
    # The address is taken first: a port in use is told at once, not after a build.
    try:
        server = make_server(
            out, args.host, args.port, site.base_path, quiet=progress.verbosity < VERBOSE, live=live
        )
    except OSError as error:  # in use, an unknown host name, not allowed
        raise LabdigestError(f"cannot serve at {args.host}:{args.port}: {error.strerror}") from None
    try:
        _first_build(out, rebuild, watching=live is not None)
    except LabdigestError:
        server.server_close()
        raise
    stop = threading.Event()
    if live is not None:
        sources = [
            p
            for p in (root / "content", root / "templates", Path(args.config).absolute())
            if p.exists()
        ]
        threading.Thread(
            target=watch_and_rebuild, args=(sources, rebuild, live, stop), daemon=True
        ).start()
    print(
        f"serving {out} at http://{args.host}:{args.port}{site.base_path} (Ctrl+C stops)",
        flush=True,
    )
    try:
        server.serve_forever()
    finally:
        stop.set()
        if live is not None:
            live.close()
        server.server_close()
    return 0

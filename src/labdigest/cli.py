"""The command line. The only place that prints errors and chooses exit codes."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Sequence
from pathlib import Path

from labdigest import __version__
from labdigest.errors import LabdigestError


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date as YYYY-MM-DD: {text!r}") from None


def parser() -> argparse.ArgumentParser:
    from labdigest.ingest.formats import CHOICES

    main = argparse.ArgumentParser(
        prog="labdigest",
        description="Turn research-paper digests into a static, searchable website.",
    )
    main.add_argument("--version", action="version", version=f"labdigest {__version__}")
    main.add_argument(
        "--config",
        type=Path,
        default=Path("site.toml"),
        help="site settings (default: ./site.toml); content/, templates/ and "
        "public/ are found beside it",
    )
    commands = main.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ingest = commands.add_parser(
        "ingest",
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
        choices=CHOICES,
        default="auto",
        help="digest format (default: detected from the content)",
    )

    fetch = commands.add_parser(
        "fetch",
        help="download a daily-papers or arXiv API response, then ingest it",
        description="Download an HF daily-papers JSON or arXiv API feed into "
        "content/digests/ under a dated name, then ingest it. Nothing is written when "
        "the download fails.",
    )
    fetch.add_argument("url", metavar="URL", help="e.g. https://huggingface.co/api/daily_papers")
    fetch.add_argument("--date", type=_date, help="the digest's date (default: today)")
    fetch.add_argument("--timeout", type=float, default=30.0, help="seconds to wait (default: 30)")

    build = commands.add_parser(
        "build",
        help="build the site into public/",
        description="Build the static site from content/.",
    )
    build.add_argument("--out", type=Path, help="output folder (default: public/ beside site.toml)")
    build.add_argument("--base-url", help="URL or path the site is served under, e.g. /digest/")
    build.add_argument("--no-search", action="store_true", help="skip the Pagefind index")
    build.add_argument("--strict", action="store_true", help="treat warnings as errors")

    check = commands.add_parser(
        "check",
        help="validate settings, papers and the built site's links",
        description="Validate site.toml and every paper file, check every internal link "
        "and #anchor of the built site, report orphan pages, papers in no topic and "
        "duplicate papers. Exit status 1 on problems (and on warnings with --strict).",
    )
    check.add_argument("--out", type=Path, help="built site to check (default: public/)")
    check.add_argument("--strict", action="store_true", help="treat warnings as problems")

    serve = commands.add_parser(
        "serve",
        help="preview public/ on a local web server",
        description="Serve the built site for preview.",
    )
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)"
    )
    serve.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    serve.add_argument(
        "--out", type=Path, help="folder to serve (default: public/ beside site.toml)"
    )
    return main


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command == "ingest":
            return _ingest(args)
        if args.command == "fetch":
            return _fetch(args)
        if args.command == "build":
            return _build(args)
        if args.command == "check":
            return _check(args)
        return _serve(args)
    except LabdigestError as error:
        print(f"labdigest: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _fetch(args: argparse.Namespace) -> int:
    from labdigest.fetch import fetch

    content_dir = args.config.absolute().parent / "content"
    path = fetch(args.url, content_dir, date=args.date or dt.date.today(), timeout=args.timeout)
    print(f"saved {path}")
    args.paths, args.format = [path], "auto"
    return _ingest(args)


def _ingest(args: argparse.Namespace) -> int:
    from labdigest.ingest import ingest

    content_dir = args.config.absolute().parent / "content"
    report = ingest(args.paths, content_dir, date=args.date, format=args.format)
    for file in report.files:
        for note in file.notes:
            print(f"{file.path}: note: {note}", file=sys.stderr)
        for problem in (*file.problems, *file.store.problems):
            print(f"{problem}", file=sys.stderr)
        if file.digest_id:
            store = file.store
            print(
                f"{file.path}: {file.papers} papers ({file.format}, digest {file.digest_id} "
                f"of {file.date}): {len(store.added)} new, {len(store.updated)} updated, "
                f"{len(store.unchanged)} unchanged"
            )
    if report.papers_read == 0:
        print("labdigest: error: no papers could be read", file=sys.stderr)
        return 1
    return 0


def _build(args: argparse.Namespace) -> int:
    from labdigest.build import BuildOptions, build

    options = BuildOptions(
        config_path=args.config,
        out=args.out,
        base_url=args.base_url,
        search=not args.no_search,
        strict=args.strict,
    )
    report = build(options, log=print)
    for warning in report.warnings:
        print(f"labdigest: warning: {warning}", file=sys.stderr)
    topics = ", ".join(f"{slug} {count}" for slug, count in report.topics.items())
    print(f"built {report.papers} papers, {report.files} files; topics: {topics}")
    return 0


def _check(args: argparse.Namespace) -> int:
    from labdigest.check import check

    report = check(args.config, args.out)
    for problem in report.problems:
        print(f"error: {problem}", file=sys.stderr)
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(
        f"checked {report.pages} pages, {report.links} internal links: "
        f"{len(report.problems)} problems, {len(report.warnings)} warnings"
    )
    failed = report.problems or (args.strict and report.warnings)
    return 1 if failed else 0


def _serve(args: argparse.Namespace) -> int:
    from labdigest import config as config_stage
    from labdigest.serve import make_server

    site = config_stage.load(args.config)
    out = args.out or args.config.absolute().parent / "public"
    if not (out / "index.html").is_file():
        raise LabdigestError(f"{out} has no built site; run 'labdigest build' first")
    server = make_server(out, args.host, args.port, site.base_path)
    print(f"serving {out} at http://{args.host}:{args.port}{site.base_path} (Ctrl+C stops)")
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0

"""`labdigest check`: everything a maintainer should fix before publishing, reported at
once. Problems (exit 1): an invalid site.toml, paper file or manifest, a broken internal
link or #anchor in the built site, two files for one paper. Warnings (exit 1 only with
--strict): papers in no topic, pages nothing links to."""

from __future__ import annotations

import html.parser
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from labdigest import config as config_stage
from labdigest import content, sources, topics
from labdigest.errors import LabdigestError
from labdigest.models import UNSORTED_SLUG, Library, Paper, SiteConfig
from labdigest.slugs import normalize_title

# Pages that are entered from outside rather than linked: the 404 page is served for
# missing URLs, the home page is the site's door.
ENTRY_PAGES = frozenset({"index.html", "404.html"})


@dataclass(slots=True)
class CheckReport:
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    pages: int = 0
    links: int = 0


def check(config_path: Path, out: Path | None = None) -> CheckReport:
    report = CheckReport()
    root = config_path.absolute().parent
    try:
        config = config_stage.load(config_path)
    except LabdigestError as error:
        report.problems.append(str(error))
        return report
    library = _check_content(root / "content", config, report)
    if library is not None:
        _check_topics(library, config, report)
    site = out or root / "public"
    if (site / "index.html").is_file():
        _check_links(site, config.base_path, report)
    else:
        report.problems.append(f"{site}: no built site to check; run 'labdigest build' first")
    return report


def _check_content(content_dir: Path, config: SiteConfig, report: CheckReport) -> Library | None:
    papers: list[Paper] = []
    for path in sorted(sources.papers_dir(content_dir).glob("*.md")):
        try:
            papers.append(content.parse_paper(content.read_text(path), path))
        except LabdigestError as error:
            report.problems.append(str(error))
    for path in sorted(sources.manifests_dir(content_dir).glob("*.yml")):
        try:
            content.parse_manifest(content.read_text(path), path)
        except LabdigestError as error:
            report.problems.append(str(error))
    _check_duplicates(papers, report)
    if report.problems:
        return None
    try:
        return content.load(content_dir, config)
    except LabdigestError as error:
        report.problems.append(str(error))
        return None


def _check_duplicates(papers: list[Paper], report: CheckReport) -> None:
    by_identity: dict[str, list[Paper]] = defaultdict(list)
    for paper in papers:
        if paper.arxiv:
            by_identity[f"arXiv {paper.arxiv}"].append(paper)
        by_identity[f"title '{normalize_title(paper.title)}'"].append(paper)
    for identity, group in sorted(by_identity.items()):
        if len(group) > 1:
            files = ", ".join(str(p.path) for p in group)
            report.problems.append(f"duplicate papers with {identity}: {files}")


def _check_topics(library: Library, config: SiteConfig, report: CheckReport) -> None:
    index = topics.assign(library, config.topics)
    for slug in index.papers_in.get(UNSORTED_SLUG, ()):
        paper = library.by_slug[slug]
        report.warnings.append(
            f"{paper.path}: in no topic (add a phrase to site.toml or pin topics)"
        )


class _LinkCollector(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[int, str]] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name == "id":
                self.ids.add(value)
            elif name in ("href", "src") or (name == "action" and tag == "form"):
                self.links.append((self.getpos()[0], value))


def _check_links(site: Path, base: str, report: CheckReport) -> None:
    pages: dict[str, _LinkCollector] = {}
    for path in sorted(site.rglob("*.html")):
        relative = path.relative_to(site).as_posix()
        if relative.startswith("pagefind/"):
            continue
        collector = _LinkCollector()
        collector.feed(path.read_text(encoding="utf-8"))
        pages[relative] = collector
    report.pages = len(pages)
    linked: set[str] = set()
    for relative, collector in pages.items():
        for line, url in collector.links:
            target = _internal_target(url, base)
            if target is None:
                continue
            report.links += 1
            file, fragment = target
            file = file or relative
            where = f"{site / relative}:{line}"
            if not (site / file).is_file():
                report.problems.append(f"{where}: broken link {url!r}")
                continue
            linked.add(file)
            if fragment and file in pages and fragment not in pages[file].ids:
                report.problems.append(f"{where}: no element with id '{fragment}' for {url!r}")
    for relative in sorted(set(pages) - linked - ENTRY_PAGES):
        report.warnings.append(f"{site / relative}: orphan page (no page links to it)")


def _internal_target(url: str, base: str) -> tuple[str, str] | None:
    """(file relative to the site, fragment) for a link into this site, else None."""
    parts = urlsplit(url)
    if parts.scheme or parts.netloc:
        return None
    path = unquote(parts.path)
    if not path:
        return "", parts.fragment
    if not path.startswith(base):
        return f"outside the base {base}: {path}", parts.fragment
    relative = path[len(base) :]
    if relative == "" or relative.endswith("/"):
        relative += "index.html"
    return relative, parts.fragment

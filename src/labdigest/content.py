"""content/ → Library: every paper file and digest manifest, read and validated, with
errors that name the file and line. Also the one place that knows how a Paper is laid
out as a file, so ingest writes exactly what build reads."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from labdigest import cite, frontmatter, parallel
from labdigest.cache import Cache, per_item
from labdigest.errors import ContentError
from labdigest.models import Digest, Library, ManifestEntry, Paper, SiteConfig
from labdigest.slugs import arxiv_base_id, is_safe_slug
from labdigest.sources import FileKey, Sources, manifests_dir, papers_dir, scan, scan_folder
from labdigest.topics import paper_text_key

KNOWN_FIELDS = (
    "title",
    "date",
    "digests",
    "authors",
    "arxiv",
    "links",
    "topics",
    "source",
    "notes",
)
LINK_KINDS = ("code", "project", "pdf", "other")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
URL_RE = re.compile(r"^https?://[^\s<>\"]+$")


# ---- Paper <-> file text -------------------------------------------------------------


def paper_to_text(paper: Paper) -> str:
    fields: list[tuple[str, Any]] = [
        ("title", paper.title),
        ("date", paper.date),
        ("digests", list(paper.digests)),
    ]
    if paper.authors:
        fields.append(("authors", list(paper.authors)))
    if paper.arxiv:
        fields.append(("arxiv", paper.arxiv))
    if paper.links:
        fields.append(("links", dict(paper.links)))
    if paper.topics:
        fields.append(("topics", list(paper.topics)))
    if paper.source:
        fields.append(("source", paper.source))
    if paper.notes:
        fields.append(("notes", paper.notes))
    fields.extend(paper.extra)
    return frontmatter.dump(fields, paper.body)


def parse_paper(text: str, path: Path) -> Paper:
    slug = path.stem
    if not is_safe_slug(slug):
        raise ContentError(
            "paper file names must be lowercase letters, digits and single hyphens, ending in .md",
            path,
        )
    document = frontmatter.parse(text, path)
    fields = document.fields

    def fail(key: str, message: str) -> ContentError:
        return ContentError(message, path, document.key_lines.get(key, 1))

    title = fields.get("title")
    if not isinstance(title, str) or not title.strip():
        raise fail("title", "'title' is required and must be text")
    date = fields.get("date")
    if not isinstance(date, str) or not _is_date(date):
        raise fail("date", "'date' is required, as YYYY-MM-DD")
    digests = _text_list(fields.get("digests", []), "digests", fail)
    authors = _text_list(fields.get("authors", []), "authors", fail)
    topics = _text_list(fields.get("topics", []), "topics", fail)
    arxiv = fields.get("arxiv")
    if arxiv is not None and (not isinstance(arxiv, str) or arxiv_base_id(arxiv) != arxiv):
        raise fail("arxiv", "'arxiv' must be a version-less arXiv id such as 2401.12345")
    source = fields.get("source")
    if source is not None and not isinstance(source, str):
        raise fail("source", "'source' must be text")
    notes = fields.get("notes")
    if notes is not None and not isinstance(notes, str):
        raise fail("notes", "'notes' must be text (Markdown)")
    return Paper(
        slug=slug,
        title=" ".join(title.split()),
        date=date,
        digests=tuple(digests),
        body=document.body,
        authors=tuple(authors),
        arxiv=arxiv,
        links=_links(fields.get("links"), fail),
        topics=tuple(topics),
        source=source,
        notes=notes,
        extra=tuple((k, v) for k, v in fields.items() if k not in KNOWN_FIELDS),
        path=str(path),
        body_line=document.body_line,
    )


def _is_date(text: str) -> bool:
    if not DATE_RE.match(text):
        return False
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _text_list(value: Any, key: str, fail: Any) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise fail(key, f"'{key}' must be a list of text items")
    return [" ".join(v.split()) for v in value]


def _links(value: Any, fail: Any) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise fail("links", "'links' must map a kind (code, project, pdf, other) to a URL")
    links = []
    for kind, url in value.items():
        if kind not in LINK_KINDS:
            raise fail("links", f"unknown link kind '{kind}' (use {', '.join(LINK_KINDS)})")
        if not isinstance(url, str) or not URL_RE.match(url):
            # Only http(s): a 'javascript:' or 'data:' URL would run in the reader's browser.
            raise fail("links", f"link '{kind}' must be an http:// or https:// URL")
        links.append((kind, url))
    return tuple(links)


# ---- manifests -----------------------------------------------------------------------


def manifest_to_text(digest: Digest) -> str:
    return frontmatter.dump_yaml(
        {
            "id": digest.id,
            "date": digest.date,
            "source": digest.source,
            "format": digest.format,
            "papers": [{"slug": e.slug, "key": e.key} for e in digest.papers],
        }
    )


def parse_manifest(text: str, path: Path) -> Digest:
    data = frontmatter.load_yaml(text, path)
    try:
        entries = tuple(ManifestEntry(str(e["slug"]), str(e["key"])) for e in data["papers"])
        digest = Digest(
            id=str(data["id"]),
            date=str(data["date"]),
            source=str(data["source"]),
            format=str(data.get("format", "text")),
            papers=entries,
        )
    except (KeyError, TypeError) as error:
        raise ContentError(f"malformed manifest: missing or bad {error}", path, 1) from None
    if not _is_date(digest.date) or not is_safe_slug(digest.id):
        raise ContentError("manifest needs an 'id' slug and a 'date' as YYYY-MM-DD", path, 1)
    return digest


# ---- the whole library -----------------------------------------------------------------


def read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        line = path.read_bytes()[: error.start].count(b"\n") + 1
        raise ContentError(f"not valid UTF-8 ({error.reason})", path, line) from None


def load_papers(content_dir: Path, cache: Cache | None = None) -> list[Paper]:
    found = scan_folder(papers_dir(content_dir), ".md")
    return [paper for paper, _, _ in _load_papers(content_dir, cache, found)[0]]


# A paper file as parsed and kept in the build cache: the paper, its topics.paper_text_key
# and its cite.base_key (worked out where it is parsed: every build reads all three).
ReadPaper = tuple[Paper, str, str]


def _load_papers(
    content_dir: Path,
    cache: Cache | None,
    found: dict[str, FileKey],
    pool: parallel.Pool | None = None,
) -> tuple[list[ReadPaper], dict[str, str]]:
    """The papers read, and each one's source key (see Library.source_keys)."""
    folder = papers_dir(content_dir)
    papers = _load_files(folder, ".md", found, _read_paper, cache, pool, lambda read: read[0].date)
    where = folder.absolute()
    keys = {name.removesuffix(".md"): f"{where}/{name} {key}" for name, key in found.items()}
    return papers, keys


def load_digests(
    content_dir: Path, cache: Cache | None = None, found: dict[str, FileKey] | None = None
) -> list[Digest]:
    folder = manifests_dir(content_dir)
    found = scan_folder(folder, ".yml") if found is None else found
    return _load_files(folder, ".yml", found, _read_manifest, cache, None, lambda d: d.date)


T = TypeVar("T", ReadPaper, Digest)


def _load_files(
    folder: Path,
    suffix: str,
    found: dict[str, FileKey],
    read: Callable[[Path], T],
    cache: Cache | None,
    pool: parallel.Pool | None,
    date_of: Callable[[T], str],
) -> list[T]:
    """The files found in the folder, parsed; with a cache, only the files changed since
    it was stored are parsed (on every core when there are many)."""
    values = per_item(
        cache,
        f"{folder.name}-{suffix[1:]}",
        str(folder.absolute()),
        found,
        lambda names: _read_all(read, [folder / name for name in names], pool),
        group=lambda _, value: date_of(value),  # (a new digest's papers: one row of shards)
    )
    return list(values.values())


def _read_all(read: Callable[[Path], T], paths: list[Path], pool: parallel.Pool | None) -> list[T]:
    return pool.map(read, paths) if pool else parallel.process_map(read, paths)


def _read_paper(path: Path) -> ReadPaper:
    paper = parse_paper(read_text(path), path)
    return paper, paper_text_key(paper), cite.base_key(paper)


def _read_manifest(path: Path) -> Digest:
    return parse_manifest(read_text(path), path)


def load(
    content_dir: Path,
    config: SiteConfig,
    cache: Cache | None = None,
    sources: Sources | None = None,
    pool: parallel.Pool | None = None,
) -> Library:
    """Every paper and digest of content_dir (those of `sources`, when it was scanned)."""
    sources = scan(content_dir) if sources is None else sources
    read, source_keys = _load_papers(content_dir, cache, sources.papers, pool)
    digests = load_digests(content_dir, cache, sources.manifests)
    _check_pinned_topics((paper for paper, _, _ in read), {t.slug for t in config.topics})
    read.sort(key=lambda r: (_descending(r[0].date), r[0].slug))
    papers = [paper for paper, _, _ in read]
    digests.sort(key=lambda d: (_descending(d.date), d.id))
    return Library(
        papers=tuple(papers),
        digests=tuple(_only_known_papers(digests, {p.slug for p in papers})),
        by_slug={p.slug: p for p in papers},
        source_keys=source_keys,
        text_keys={paper.slug: text for paper, text, _ in read},
        citation_keys=cite.citation_keys(papers, {paper.slug: base for paper, _, base in read}),
    )


def _descending(date: str) -> int:
    return -int(date.replace("-", ""))


def _check_pinned_topics(papers: Iterable[Paper], known: set[str]) -> None:
    for paper in papers:
        for slug in paper.topics:
            if slug not in known:
                assert paper.path is not None
                text = Path(paper.path).read_text(encoding="utf-8")
                line = _line_of_key(text, "topics")
                raise ContentError(
                    f"unknown topic '{slug}' (topics are defined in site.toml)", paper.path, line
                )


def _line_of_key(text: str, key: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith(f"{key}:"):
            return number
    return 1


def _only_known_papers(digests: list[Digest], slugs: set[str]) -> list[Digest]:
    """A maintainer may delete a paper file; its digest pages then simply skip it."""
    return [
        Digest(d.id, d.date, d.source, d.format, tuple(e for e in d.papers if e.slug in slugs))
        for d in digests
    ]

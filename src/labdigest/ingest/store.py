"""Merge what a digest says into content/: new papers get a file, known papers gain the
digest (and whatever they lacked) without losing a hand edit, and the digest gets a
manifest. A file is only rewritten when its bytes change, so re-ingesting is a no-op."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from labdigest import content, markup, parallel, sources
from labdigest.cache import Cache
from labdigest.errors import IngestError
from labdigest.ingest.base import Entry
from labdigest.models import Digest, ManifestEntry, Paper
from labdigest.output.files import write_atomic
from labdigest.slugs import identity_key, normalize_title, slugify, unique_slug


@dataclass(slots=True)
class StoreReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    problems: list[IngestError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class PaperStore:
    """The papers and manifests under content/, indexed by identity."""

    def __init__(self, content_dir: Path, cache: Cache | None = None):
        self.content_dir = content_dir
        self._papers_dir = str(sources.papers_dir(content_dir))
        self.papers = {p.slug: p for p in content.load_papers(content_dir, cache)}
        self.manifests = {d.id: d for d in content.load_digests(content_dir, cache)}
        # Papers added or changed and not yet written, and the raw abstracts of the new
        # ones: escaping and writing are most of an ingest's time, done at the end on
        # every core (_flush).
        self._unsaved: dict[str, str] = {}  # slug → file
        self._raw_abstracts: dict[str, tuple[str, bool]] = {}
        self.slug_of: dict[str, str] = {}
        self._next_number: dict[str, int] = {}  # slug base → the next suffix to try
        # Keys a digest gave a paper still find it after a maintainer edits its title.
        for digest in self.manifests.values():
            for entry in digest.papers:
                self.slug_of.setdefault(entry.key, entry.slug)
        for paper in self.papers.values():
            self._index(paper)

    def _index(self, paper: Paper) -> None:
        if paper.arxiv:
            self.slug_of[f"arxiv:{paper.arxiv}"] = paper.slug
        if doi := _doi(paper.extra):
            self.slug_of[identity_key(None, paper.title, doi)] = paper.slug
        self.slug_of[f"title:{normalize_title(paper.title)}"] = paper.slug

    def find(self, entry: Entry) -> str | None:
        keys = [identity_key(entry.arxiv, entry.title, _doi(entry.extra))]
        if not keys[0].startswith("title:"):  # it may be known by title from a text digest
            keys.append(identity_key(None, entry.title))
        for key in keys:
            if key in self.slug_of:
                return self.slug_of[key]
        return None

    def merge_digest(
        self,
        digest_id: str,
        date: str,
        source: str,
        fmt: str,
        entries: list[Entry],
        path: str,
        *,
        keep_math: bool = False,
    ) -> StoreReport:
        report = StoreReport()
        listed: list[ManifestEntry] = []
        seen: dict[str, int] = {}
        for entry in entries:
            key = identity_key(entry.arxiv, entry.title, _doi(entry.extra))
            if key in seen:
                report.problems.append(
                    IngestError(
                        f"the same paper as line {seen[key]} ({entry.title!r}); listed once",
                        path,
                        entry.line,
                    )
                )
                continue
            seen[key] = entry.line
            slug = self.find(entry)
            if slug is not None and slug not in self.papers:
                report.notes.append(
                    f"line {entry.line}: {slug}.md was deleted by hand; not recreating it"
                )
            elif slug is not None:
                self._update(slug, entry, digest_id, date, report)
            else:
                slug = self._add(entry, digest_id, date, source, report, keep_math)
            listed.append(ManifestEntry(slug, key))
        manifest = Digest(digest_id, date, source, fmt, tuple(listed))
        # Written after the papers: a manifest never lists a paper whose file is not there
        # yet (a re-ingest would take it for one deleted by hand).
        self._flush()
        text = content.manifest_to_text(manifest)
        _write_if_changed(sources.manifests_dir(self.content_dir) / f"{digest_id}.yml", text)
        self.manifests[digest_id] = manifest
        return report

    def _add(
        self,
        entry: Entry,
        digest_id: str,
        date: str,
        source: str,
        report: StoreReport,
        keep_math: bool,
    ) -> str:
        base = slugify(entry.title)
        # Many titles may share a base (long titles are cut): numbering resumes where the
        # last one stopped, as taken slugs stay taken (10,000 similar titles: quadratic).
        slug = unique_slug(base, self.papers, start=self._next_number.get(base, 2))
        if slug != base:
            self._next_number[base] = int(slug.rsplit("-", 1)[1]) + 1
        paper = Paper(
            slug=slug,
            title=entry.title,
            date=date,
            digests=(digest_id,),
            body="",  # escaped from the abstract by _flush
            authors=entry.authors,
            arxiv=entry.arxiv,
            links=entry.links,
            source=source,
            extra=entry.extra,
            path=self._path_of(slug),
        )
        self._raw_abstracts[slug] = (entry.abstract, keep_math)
        self._save(paper)
        report.added.append(slug)
        return slug

    def _update(
        self, slug: str, entry: Entry, digest_id: str, date: str, report: StoreReport
    ) -> None:
        """Only what the paper lacked is filled in: title, body, topics and any other
        field a maintainer may have edited stay exactly as they are."""
        paper = self.papers[slug]
        merged = dataclasses.replace(
            _filled(paper, entry),
            digests=paper.digests if digest_id in paper.digests else (*paper.digests, digest_id),
            date=min(paper.date, date),
        )
        if merged == paper:
            report.unchanged.append(slug)
            return
        self._save(merged)
        report.updated.append(slug)

    def fill(self, slug: str, entry: Entry) -> bool:
        """What another source says of a known paper, where the paper lacks it (its arXiv
        id, authors, links, dates, categories); whether anything was filled in. Saved
        with save()."""
        paper = self.papers[slug]
        filled = _filled(paper, entry)
        if filled != paper:
            self._save(filled)
        return filled != paper

    def save(self) -> None:
        """Write every paper changed since the last save."""
        self._flush()

    def _path_of(self, slug: str) -> str:
        # Text, not a Path: a Path for each of 10,000 new papers cost a sixth of a second.
        return f"{self._papers_dir}/{slug}.md"

    def _save(self, paper: Paper) -> None:
        path = self._path_of(paper.slug)
        if paper.path != path:
            paper = dataclasses.replace(paper, path=path)
        self.papers[paper.slug] = paper
        self._unsaved[paper.slug] = path
        self._index(paper)

    def _flush(self) -> None:
        """Write every paper added or changed since the last flush (on every core when
        there are many)."""
        papers = [self.papers[slug] for slug in self._unsaved]
        raw = [self._raw_abstracts.get(paper.slug) for paper in papers]
        bodies = parallel.process_map(_finish_and_write, list(zip(papers, raw, strict=True)))
        for paper, body in zip(papers, bodies, strict=True):
            self.papers[paper.slug] = dataclasses.replace(paper, body=body)
        self._unsaved.clear()
        self._raw_abstracts.clear()


def _filled(paper: Paper, entry: Entry) -> Paper:
    """The paper with what it lacked taken from the entry: title, body, topics and any
    field a maintainer may have edited stay exactly as they are."""
    known_links = {kind for kind, _ in paper.links}
    known_extra = {key for key, _ in paper.extra}
    return dataclasses.replace(
        paper,
        authors=paper.authors or entry.authors,
        arxiv=paper.arxiv or entry.arxiv,
        links=paper.links + tuple(link for link in entry.links if link[0] not in known_links),
        extra=paper.extra + tuple(item for item in entry.extra if item[0] not in known_extra),
    )


def _finish_and_write(item: tuple[Paper, tuple[str, bool] | None]) -> str:
    """Escape a new paper's abstract into its body, write its file; returns the body."""
    paper, raw = item
    if raw is not None:
        abstract, keep_math = raw
        paper = dataclasses.replace(paper, body=markup.escape_text(abstract, keep_math=keep_math))
    assert paper.path is not None
    _write_if_changed(paper.path, content.paper_to_text(paper))
    return paper.body


def _write_if_changed(path: Path | str, text: str) -> None:
    data = text.encode("utf-8")
    # (A failed open is the cheapest test that the file is new: ingest writes 10,000 new
    # papers, and a Path and its exists() took a twentieth of the time of each.)
    try:
        with open(path, "rb") as existing:
            if existing.read() == data:
                return
    except FileNotFoundError:
        pass
    write_atomic(path, data)


def _doi(extra: tuple[tuple[str, object], ...]) -> str | None:
    """The DOI a digest gave a paper (a bioRxiv or medRxiv preprint is known by it)."""
    doi = dict(extra).get("doi")
    return str(doi) if doi else None

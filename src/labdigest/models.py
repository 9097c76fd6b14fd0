"""Typed values handed from one pipeline stage to the next."""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from labdigest.output.files import Entry

T = TypeVar("T")

UNSORTED_SLUG = "unsorted"
# The digest formats ingest reads (ingest/formats.py has a reader for each); named here so
# that the command line can list them without importing every reader.
FORMAT_NAMES = ("text", "arxiv-email", "hf-json", "arxiv-atom", "arxiv-rss", "biorxiv", "html")


def fast_pickle(cls: type[T]) -> type[T]:
    """Pickle instances as a call to the constructor with the field values. Python 3.11
    pickles a frozen slots dataclass through __getstate__/__setstate__ methods that look up
    dataclasses.fields() for every object: loading the build cache's 100,000 small views
    took 0.8 s of that alone."""
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    if len(names) < 2:  # attrgetter of one name returns the value, not a tuple
        raise TypeError(f"fast_pickle needs a dataclass of two fields or more: {cls}")
    values: Callable[[Any], tuple[Any, ...]] = operator.attrgetter(*names)

    def reduce(self: T) -> tuple[type[T], tuple[Any, ...]]:
        return cls, values(self)

    cls.__reduce__ = reduce  # type: ignore[assignment,method-assign]
    return cls


@fast_pickle
@dataclass(frozen=True, slots=True)
class Topic:
    slug: str
    name: str
    description: str
    phrases: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SiteConfig:
    path: Path
    title: str
    description: str
    base_url: str  # always ends with "/"; may be absolute ("https://…/") or a path ("/digest/")
    language: str
    topics: tuple[Topic, ...]
    url: str | None = None  # the absolute address the site is published at, for feeds and mail
    scholar_tags: bool = False  # Google Scholar citation_* meta tags (off: abstracts are re-hosted)
    per_page: int = 100  # papers a page of a topic's or a digest's list
    lab_name: str = "Our lab"
    lab_members: tuple[str, ...] = ()

    @property
    def base_path(self) -> str:
        """The path part of base_url: what internal links start with."""
        if "://" in self.base_url:
            rest = self.base_url.split("://", 1)[1]
            return "/" + rest.split("/", 1)[1] if "/" in rest else "/"
        return self.base_url

    @property
    def absolute_base(self) -> str:
        """Where absolute links start: `url`, else base_url when it is absolute, else the
        base path (links then resolve against wherever the page was fetched from)."""
        if self.url:
            return self.url
        return self.base_url if "://" in self.base_url else self.base_path


@fast_pickle
@dataclass(frozen=True, slots=True)
class Paper:
    """One paper as stored in content/papers/<slug>.md."""

    slug: str
    title: str
    date: str  # YYYY-MM-DD: the first digest it appeared in
    digests: tuple[str, ...]
    body: str  # Markdown, owned by the maintainer
    authors: tuple[str, ...] = ()
    arxiv: str | None = None
    links: tuple[tuple[str, str], ...] = ()  # (kind, url), kind in code/project/pdf/other
    topics: tuple[str, ...] = ()  # pinned by a maintainer; empty means "assign by rules"
    source: str | None = None
    notes: str | None = None  # the lab's own Markdown notes on the paper
    extra: tuple[tuple[str, Any], ...] = ()  # unknown front-matter keys, kept verbatim
    # The file it was read from, for error messages; text, not a Path: unpickling 10,000
    # Paths from the build cache took a quarter of a second.
    path: str | None = None
    body_line: int = 1  # line of the body's first line in that file


@fast_pickle
@dataclass(frozen=True, slots=True)
class Unsent:
    """A paper as a worker that ranks related papers gets it when its text is unchanged
    since the ranking it keeps: its place alone (a large site's texts are not sent)."""

    slug: str
    date: str


@fast_pickle
@dataclass(frozen=True, slots=True)
class ManifestEntry:
    slug: str
    key: str  # the identity the digest gave this paper: "arxiv:<id>" or "title:<normalized>"


@fast_pickle
@dataclass(frozen=True, slots=True)
class Digest:
    """One received digest, as recorded in content/manifests/<id>.yml."""

    id: str
    date: str
    source: str
    format: str
    papers: tuple[ManifestEntry, ...]


@dataclass(frozen=True, slots=True)
class Library:
    """Everything under content/, read and cross-checked, ready to render."""

    papers: tuple[Paper, ...]  # sorted newest first, then by slug
    digests: tuple[Digest, ...]  # sorted newest first, then by id
    by_slug: dict[str, Paper] = field(default_factory=dict)
    # slug → the paper file's path, size, time and inode: equal keys, equal papers (the
    # cache of parsed papers rests on it too), and far quicker to compare than the papers.
    source_keys: dict[str, str] = field(default_factory=dict)
    # slug → topics.paper_text_key and → cite.citation_keys, as content.load works them
    # out (from the build cache, for unchanged files).
    text_keys: dict[str, str] = field(default_factory=dict)
    citation_keys: dict[str, str] = field(default_factory=dict)


class OutputFile(NamedTuple):
    """A file of the built site: a path relative to the output folder, and its bytes."""

    path: str
    content: bytes
    # What the file was made from, when render can tell: the next build keeps a file
    # whose key is unchanged instead of making it again.
    key: str | None = None


class KeptFile(NamedTuple):
    """A file of the last build that this one would make the same: the live site keeps it."""

    path: str


class WrittenFile(NamedTuple):
    """A file a worker process wrote into the staging folder, and its manifest entry."""

    path: str
    entry: Entry

"""Related papers: the k most similar papers to each one (ranking.py ranks them). The
links are cached with the texts they were ranked from: a rebuild whose titles and
abstracts are unchanged (an edit to a paper's notes, topics, authors or links, the most
common hand edits) takes them from there without importing NumPy and Numba, 0.4 s of
such a rebuild. Ranking every paper from nothing (a new site, or new papers) takes
seconds on a large site: a build has it worked out beside its other stages (meanwhile)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from labdigest import parallel
from labdigest.cache import Cache
from labdigest.models import Paper
from labdigest.topics import text_keys

Links = dict[str, tuple[str, ...]]
# The papers (slugs, in order) and the keys of their texts.
Texts = tuple[list[str], list[str]]


def related(papers: tuple[Paper, ...], k: int = 5, cache: Cache | None = None) -> Links:
    """slug → up to k slugs of the most similar papers, most similar first; ties go to
    the slug that sorts first, so the result does not depend on the order of `papers`."""
    with meanwhile(papers, k, cache) as links:
        return links()


@contextmanager
def meanwhile(
    papers: tuple[Paper, ...],
    k: int = 5,
    cache: Cache | None = None,
    keys: dict[str, str] | None = None,
) -> Iterator[Callable[[], Links]]:
    """related(papers, k, cache), as a function to call when the links are needed. Unless
    the cached links hold (no text changed) or the papers are few, they are ranked in a
    process of its own while this one goes on (topics, views: they do not need the links):
    even the few rows an edit moves cost a rebuild of 10,000 papers 0.3 s (NumPy, the kept
    ranking loaded and stored again), which forking hides. keys: topics.text_keys(papers),
    if already known."""
    ordered, texts, known = _cached(papers, k, cache, keys)
    if known and known[0] == texts:
        links = known[1]
        yield lambda: links
    elif len(ordered) < parallel.MIN_ITEMS:
        yield functools.cache(lambda: _ranked(ordered, texts, k, cache))
    else:
        with parallel.in_background(lambda: _ranked(ordered, texts, k, cache)) as later:
            yield later


def _cached(
    papers: tuple[Paper, ...], k: int, cache: Cache | None, keys: dict[str, str] | None
) -> tuple[list[Paper], Texts, tuple[Texts, Links] | None]:
    """The papers in slug order, their texts, and the links cached with the texts they
    were ranked from."""
    ordered = sorted(papers, key=lambda p: p.slug)
    keys = text_keys(ordered) if keys is None else keys
    texts = ([p.slug for p in ordered], [keys[p.slug] for p in ordered])
    known = cache.load("related-links", k) if cache else None
    return ordered, texts, known if isinstance(known, tuple) and len(known) == 2 else None


def _ranked(ordered: list[Paper], texts: Texts, k: int, cache: Cache | None) -> Links:
    if len(ordered) < 2:
        return {p.slug: () for p in ordered}
    from labdigest import ranking  # (NumPy; Numba to rank many rows)

    links = ranking.ranked(ordered, texts[1], k, cache)
    if cache is not None:
        cache.store("related-links", k, (texts, links))
    return links

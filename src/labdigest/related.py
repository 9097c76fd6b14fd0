"""Related papers: the k most similar papers to each one (ranking.py ranks them). The
links are cached with the texts they were ranked from: a rebuild whose titles and
abstracts are unchanged (an edit to a paper's notes, topics, authors or links, the most
common hand edits) takes them from there without importing NumPy. Otherwise a large
site's papers are ranked by a worker process while the build goes on."""

from __future__ import annotations

import functools
from collections.abc import Sequence

from labdigest import parallel
from labdigest.cache import Cache
from labdigest.models import Paper, Unsent
from labdigest.topics import text_keys

Links = dict[str, tuple[str, ...]]


def related(
    papers: tuple[Paper, ...],
    k: int = 5,
    cache: Cache | None = None,
    keys: dict[str, str] | None = None,
) -> Links:
    """slug → up to k slugs of the most similar papers, most similar first; ties go to
    the slug that sorts first, so the result does not depend on the order of `papers`.
    keys: topics.text_keys(papers), if already known."""
    return meanwhile(papers, k, cache, keys)()


def meanwhile(
    papers: tuple[Paper, ...],
    k: int = 5,
    cache: Cache | None = None,
    keys: dict[str, str] | None = None,
    pool: parallel.Pool | None = None,
) -> parallel.Later[Links]:
    """related(...) as a function to call when the links are needed: unless the cached
    links hold, a large site's papers are ranked by one of the pool's workers meanwhile."""
    ordered = sorted(papers, key=lambda p: p.slug)
    keys = keys or text_keys(ordered)
    # (a paper's date is part of its key: the oldest papers weigh the terms, ranking.py)
    texts = ([p.slug for p in ordered], [f"{p.date} {keys[p.slug]}" for p in ordered])
    known = cache.load("related-links", k) if cache else None
    if not (isinstance(known, tuple) and len(known) == 2):
        known = (([], []), {})
    if known[0] == texts:
        return parallel.Later(lambda: dict(known[1]))

    def here() -> Links:
        links = rank(ordered, texts, k, cache)
        assert links is not None  # (every text given)
        return links

    if pool is None:
        return parallel.Later(functools.cache(here))
    # The worker is sent the texts that changed since the kept links were ranked: at
    # 100,000 papers, all of them are 150 MB of pickle, held while they are sent.
    ranked_from: dict[str, str] = dict(zip(*known[0], strict=True))
    sent = [
        p if ranked_from.get(p.slug) != text else Unsent(p.slug, p.date)
        for p, text in zip(ordered, texts[1], strict=True)
    ]
    later = pool.later(len(ordered), rank, sent, texts, k, cache)

    def links() -> Links:
        # (None: the kept ranking is not the one the kept links came from, being cut
        # short or deleted by hand, and it needs a text not sent: ranked here.)
        found = later()
        return here() if found is None else found

    return parallel.Later(links, later.ready)


def rank(
    ordered: Sequence[Paper | Unsent],
    texts: tuple[list[str], list[str]],
    k: int,
    cache: Cache | None,
) -> Links | None:
    """The papers (in slug order) ranked, from the cached ranking where there is one;
    None when it needs the text of a paper Unsent."""
    if len(ordered) < 2:
        return {p.slug: () for p in ordered}
    from labdigest import ranking  # (NumPy and SciPy)

    try:
        links = ranking.ranked(ordered, texts[1], k, cache)
    except ranking.TextNotSent:
        return None
    if cache is not None:
        cache.store("related-links", k, (texts, links))
    return links

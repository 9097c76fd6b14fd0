"""Related papers: the k most similar papers to each one (ranking.py ranks them). The
links are cached with the texts they were ranked from: a rebuild whose titles and
abstracts are unchanged (an edit to a paper's notes, topics, authors or links, the most
common hand edits) takes them from there without importing numpy and SciPy, 0.4 s of
such a rebuild."""

from __future__ import annotations

from labdigest.cache import Cache
from labdigest.models import Paper
from labdigest.topics import paper_text_key

Links = dict[str, tuple[str, ...]]


def related(papers: tuple[Paper, ...], k: int = 5, cache: Cache | None = None) -> Links:
    """slug → up to k slugs of the most similar papers, most similar first; ties go to
    the slug that sorts first, so the result does not depend on the order of `papers`."""
    ordered = sorted(papers, key=lambda p: p.slug)
    if len(ordered) < 2:
        return {p.slug: () for p in ordered}
    texts = ([p.slug for p in ordered], [paper_text_key(p) for p in ordered])
    known = cache.load("related-links", k) if cache else None
    if isinstance(known, tuple) and len(known) == 2 and known[0] == texts:
        links: Links = known[1]
        return links
    from labdigest import ranking  # (numpy and SciPy)

    links = ranking.ranked(ordered, texts[1], k, cache)
    if cache is not None:
        cache.store("related-links", k, (texts, links))
    return links

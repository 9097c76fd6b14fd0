"""Related papers: the k most similar papers to each one by TF-IDF cosine over title and
abstract. Each paper is reduced to its most telling terms, and the sparse matrix is
multiplied a block of rows at a time (blocks on every core): no loop over all pairs in
Python, about two seconds for 10,000 papers. The work still grows with the square of the
number of papers when they share many terms, as synthetic digests do (100 s for 100,000)."""

from __future__ import annotations

import re
from collections import Counter
from itertools import chain

import numpy as np
from scipy import sparse

from labdigest import parallel
from labdigest.cache import Cache, text_key
from labdigest.models import Paper
from labdigest.topics import searchable_text

TOKEN_RE = re.compile(r"[a-z][a-z0-9-]{2,}")
STOP_WORDS = frozenset(
    [
        "the",
        "and",
        "for",
        "with",
        "that",
        "this",
        "from",
        "are",
        "our",
        "which",
        "can",
        "its",
        "their",
        "these",
        "than",
        "into",
        "over",
        "such",
        "also",
        "been",
        "has",
        "have",
        "was",
        "were",
        "not",
        "but",
        "all",
        "more",
        "most",
        "both",
        "each",
        "other",
        "using",
        "based",
        "via",
        "while",
        "when",
        "where",
        "how",
        "what",
        "show",
        "shows",
        "propose",
        "proposed",
        "present",
        "method",
        "methods",
        "approach",
        "paper",
        "work",
        "results",
        "new",
        "model",
        "models",
        "task",
        "tasks",
    ]
)
TERMS_PER_PAPER = 24  # the highest-weighted terms say what a paper is about
# Similarity is computed a block of rows at a time: BLOCK_CELLS scores (32 MiB) at most,
# so that memory stays flat however many papers there are.
BLOCK_CELLS = 1 << 22
# Scores are rounded before ranking so that float noise never reorders equal scores.
SCORE_DIGITS = 6


def term_counts(paper: Paper) -> Counter[str]:
    """How often each telling word occurs; the title says most about a paper, so its
    words count twice."""
    counts = Counter(TOKEN_RE.findall(searchable_text(paper)))
    counts.update(TOKEN_RE.findall(paper.title.lower()))
    for word in STOP_WORDS.intersection(counts):
        del counts[word]
    return counts


def related(
    papers: tuple[Paper, ...], k: int = 5, cache: Cache | None = None
) -> dict[str, tuple[str, ...]]:
    """slug → up to k slugs of the most similar papers, most similar first; ties go to
    the slug that sorts first, so the result does not depend on the order of `papers`.
    Any change to any paper's text can move any score, so the cache holds only the
    result for exactly these texts (a rebuild for a template or a setting reuses it)."""
    ordered = sorted(papers, key=lambda p: p.slug)
    if len(ordered) < 2:
        return {p.slug: () for p in ordered}
    texts = text_key(str(k), *(text_key(p.slug, p.title, p.body) for p in ordered))
    known: dict[str, tuple[str, ...]] | None = cache.load("related", texts) if cache else None
    if known is not None:
        return known
    matrix = _tfidf(ordered)
    transposed = matrix.T.tocsr()
    slugs = [p.slug for p in ordered]

    rows_per_block = max(16, min(1024, BLOCK_CELLS // len(ordered)))

    def block_top(start: int) -> list[list[int]]:
        block = (matrix[start : start + rows_per_block] @ transposed).toarray()
        rows = np.arange(block.shape[0])
        block[rows, rows + start] = -1.0  # a paper is not related to itself
        return _top(block, k)

    starts = list(range(0, len(ordered), rows_per_block))
    tops = chain.from_iterable(parallel.fork_map(block_top, starts, min_items=4))
    result = {slug: tuple(slugs[i] for i in top) for slug, top in zip(slugs, tops, strict=True)}
    if cache is not None:
        cache.store("related", texts, result)
    return result


def _top(block: np.ndarray, k: int) -> list[list[int]]:
    """Each row's k best columns with a score above 0, best first; papers are in slug
    order, so equal (rounded) scores go to the lower column: the slug that sorts first."""
    # A few extra candidates, so that ties at the k-th place are broken by slug.
    count = min(k + 8, block.shape[1] - 1)
    candidates = np.argpartition(-block, count, axis=1)[:, :count]
    scores = np.round(np.take_along_axis(block, candidates, axis=1), SCORE_DIGITS)
    order = np.lexsort((candidates, -scores), axis=-1)
    candidates = np.take_along_axis(candidates, order, axis=1)[:, :k]
    positive = np.take_along_axis(scores, order, axis=1)[:, :k] > 0
    return [row[keep].tolist() for row, keep in zip(candidates, positive, strict=True)]


def _tfidf(papers: list[Paper]) -> sparse.csr_matrix:
    counted = [term_counts(paper) for paper in papers]
    # Terms numbered in order of first appearance, and the triplets gathered, all in C
    # loops: a Python loop over the million (paper, term) pairs would take seconds.
    vocabulary = {term: i for i, term in enumerate(dict.fromkeys(chain.from_iterable(counted)))}
    pairs = sum(len(c) for c in counted)
    row_index = np.repeat(np.arange(len(papers), dtype=np.int64), [len(c) for c in counted])
    col_index = np.fromiter(
        map(vocabulary.__getitem__, chain.from_iterable(counted)), dtype=np.int64, count=pairs
    )
    counts = np.fromiter(
        chain.from_iterable(c.values() for c in counted), dtype=np.float64, count=pairs
    )
    document_frequency = np.bincount(col_index, minlength=len(vocabulary))
    idf = np.log((1 + len(papers)) / (1 + document_frequency)) + 1.0
    weights = (1.0 + np.log(counts)) * idf[col_index]
    # Keep each paper's TERMS_PER_PAPER heaviest terms (ties by term index: deterministic).
    order = np.lexsort((col_index, -weights, row_index))
    row_index, col_index, weights = row_index[order], col_index[order], weights[order]
    starts = np.searchsorted(row_index, row_index, side="left")
    keep = (np.arange(len(row_index)) - starts) < TERMS_PER_PAPER
    matrix = sparse.csr_matrix(
        (weights[keep], (row_index[keep], col_index[keep])), shape=(len(papers), len(vocabulary))
    )
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sparse.csr_matrix(sparse.diags(1.0 / norms) @ matrix)

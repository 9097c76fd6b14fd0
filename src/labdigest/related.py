"""Related papers: the k most similar papers to each one by TF-IDF cosine over title and
abstract. Each paper is reduced to its most telling terms, and the sparse matrix is
multiplied a block of rows at a time: no loop over all pairs in Python, about a second
for 10,000 papers."""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
from scipy import sparse

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
BLOCK_ROWS = 1024
# Scores are rounded before ranking so that float noise never reorders equal scores.
SCORE_DIGITS = 6


def tokens(paper: Paper) -> list[str]:
    text = searchable_text(paper)
    # The title says most about a paper: its words count twice.
    words = TOKEN_RE.findall(text) + TOKEN_RE.findall(paper.title.lower())
    return [w for w in words if w not in STOP_WORDS]


def related(papers: tuple[Paper, ...], k: int = 5) -> dict[str, tuple[str, ...]]:
    """slug → up to k slugs of the most similar papers, most similar first; ties go to
    the slug that sorts first, so the result does not depend on the order of `papers`."""
    ordered = sorted(papers, key=lambda p: p.slug)
    if len(ordered) < 2:
        return {p.slug: () for p in ordered}
    matrix = _tfidf(ordered)
    transposed = matrix.T.tocsr()
    slugs = [p.slug for p in ordered]
    result: dict[str, tuple[str, ...]] = {}
    for start in range(0, len(ordered), BLOCK_ROWS):
        block = (matrix[start : start + BLOCK_ROWS] @ transposed).toarray()
        block[np.arange(block.shape[0]), np.arange(start, start + block.shape[0])] = -1.0
        for offset, row in enumerate(np.round(block, SCORE_DIGITS)):
            result[slugs[start + offset]] = _top(row, slugs, k)
    return result


def _top(row: np.ndarray, slugs: list[str], k: int) -> tuple[str, ...]:
    # A few extra candidates, so that ties at the k-th place are broken by slug.
    count = min(k + 8, len(row) - 1)
    candidates = np.argpartition(-row, count)[:count]
    ranked = sorted((int(i) for i in candidates if row[i] > 0), key=lambda i: (-row[i], slugs[i]))
    return tuple(slugs[i] for i in ranked[:k])


def _tfidf(papers: list[Paper]) -> sparse.csr_matrix:
    vocabulary: dict[str, int] = {}
    rows: list[int] = []
    cols: list[int] = []
    counts: list[int] = []
    for row, paper in enumerate(papers):
        for word, count in Counter(tokens(paper)).items():
            rows.append(row)
            cols.append(vocabulary.setdefault(word, len(vocabulary)))
            counts.append(count)
    row_index = np.array(rows, dtype=np.int64)
    col_index = np.array(cols, dtype=np.int64)
    document_frequency = np.bincount(col_index, minlength=len(vocabulary))
    idf = np.log((1 + len(papers)) / (1 + document_frequency)) + 1.0
    weights = (1.0 + np.log(np.array(counts, dtype=np.float64))) * idf[col_index]
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

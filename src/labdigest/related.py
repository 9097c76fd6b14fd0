"""Related papers: the k most similar papers to each one by TF-IDF cosine over title and
abstract. Sparse matrices, multiplied a block of rows at a time, keep it far from the
all-pairs Python loop: 10,000 papers take about a second."""

from __future__ import annotations

import math
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
BLOCK_ROWS = 512
# Scores are rounded before ranking so that float noise never reorders equal scores.
SCORE_DIGITS = 9


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
    result: dict[str, tuple[str, ...]] = {}
    for start in range(0, len(ordered), BLOCK_ROWS):
        block = (matrix[start : start + BLOCK_ROWS] @ matrix.T).toarray()
        for offset, row in enumerate(block):
            row[start + offset] = -1.0  # never related to itself
            result[ordered[start + offset].slug] = _top(row, ordered, k)
    return result


def _top(row: np.ndarray, ordered: list[Paper], k: int) -> tuple[str, ...]:
    candidates = np.argpartition(-row, min(k + 8, len(row) - 1))[: k + 8]
    ranked = sorted(
        (int(i) for i in candidates if row[i] > 0),
        key=lambda i: (-round(float(row[i]), SCORE_DIGITS), ordered[i].slug),
    )
    return tuple(ordered[i].slug for i in ranked[:k])


def _tfidf(papers: list[Paper]) -> sparse.csr_matrix:
    counts = [Counter(tokens(p)) for p in papers]
    document_frequency: Counter[str] = Counter()
    for count in counts:
        document_frequency.update(count.keys())
    total = len(papers)
    # Words in most papers say nothing about any one of them.
    vocabulary = {
        word: index
        for index, word in enumerate(
            sorted(w for w, df in document_frequency.items() if df <= 0.5 * total or total < 10)
        )
    }
    idf = {w: math.log((1 + total) / (1 + document_frequency[w])) + 1 for w in vocabulary}
    rows, cols, values = [], [], []
    for row, count in enumerate(counts):
        weights = {w: (1 + math.log(c)) * idf[w] for w, c in count.items() if w in vocabulary}
        norm = math.sqrt(sum(v * v for v in weights.values())) or 1.0
        for word, weight in weights.items():
            rows.append(row)
            cols.append(vocabulary[word])
            values.append(weight / norm)
    return sparse.csr_matrix(
        (np.array(values, dtype=np.float64), (rows, cols)), shape=(total, len(vocabulary))
    )

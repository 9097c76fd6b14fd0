"""Related papers ranked: the k most similar papers to each one by TF-IDF cosine over
title and abstract. Each paper is reduced to its most telling terms, and the sparse matrix
is multiplied a block of rows at a time (blocks on every core): no loop over all pairs in
Python, about two seconds for 10,000 papers. The work still grows with the square of the
number of papers when they share many terms, as synthetic digests do (100 s for 100,000).

The cache keeps the term counts and every paper's k best scores, so a rebuild after an
edit recomputes only the rows the edit can move (the edited papers, and the papers that
share a term whose document frequency changed) and ranks the others by merging their
kept scores with their scores against the moved rows: the same floats, summed in the
same order, as a clean build. related.py asks for this only when a text changed."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np
from scipy import sparse

from labdigest import parallel
from labdigest.cache import Cache
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
# When an edit moves more rows than this share of all, ranking everything is as quick.
MOST_MOVED = 0.05


@dataclass(slots=True)
class Ranking:
    """What the cache keeps between builds: the papers (in slug order) and their texts'
    keys, the term counts over a sorted vocabulary, and each paper's k best columns with
    their rounded scores (-1 and 0 where a paper has fewer than k related papers)."""

    k: int
    slugs: list[str]
    text_keys: list[str]
    vocabulary: list[str]
    counts: sparse.csr_matrix  # paper by term → occurrences (int32)
    matrix: sparse.csr_matrix  # paper by term → TF-IDF weight (_tfidf), rows of length 1
    top: np.ndarray  # paper by k → column (int64)
    scores: np.ndarray  # paper by k → rounded score (float64)

    def result(self) -> dict[str, tuple[str, ...]]:
        slugs = self.slugs
        return {
            slug: tuple(slugs[column] for column in row if column >= 0)
            for slug, row in zip(slugs, self.top.tolist(), strict=True)
        }


def term_counts(paper: Paper) -> Counter[str]:
    """How often each telling word occurs; the title says most about a paper, so its
    words count twice."""
    counts = Counter(TOKEN_RE.findall(searchable_text(paper)))
    counts.update(TOKEN_RE.findall(paper.title.lower()))
    for word in STOP_WORDS.intersection(counts):
        del counts[word]
    return counts


def ranked(
    ordered: list[Paper], keys: list[str], k: int, cache: Cache | None
) -> dict[str, tuple[str, ...]]:
    """slug → up to k slugs of the most similar papers, for papers in slug order and the
    keys of their texts: re-ranked from the cached ranking where there is one."""
    known = cache.load("related", k) if cache else None
    if isinstance(known, Ranking) and known.slugs == [p.slug for p in ordered]:
        if known.text_keys == keys:
            return known.result()
        ranking = rerank(known, ordered, keys)
    else:
        ranking = rank(ordered, keys, k)
    if cache is not None:
        cache.store("related", k, ranking)
    return ranking.result()


def rank(papers: Sequence[Paper], keys: list[str], k: int) -> Ranking:
    """Every paper ranked against every other (papers in slug order)."""
    counted = [term_counts(paper) for paper in papers]
    vocabulary = sorted(set(chain.from_iterable(counted)))
    counts = _count_matrix(counted, vocabulary)
    return _ranked(counts, [p.slug for p in papers], keys, vocabulary, k)


def _ranked(
    counts: sparse.csr_matrix, slugs: list[str], keys: list[str], vocabulary: list[str], k: int
) -> Ranking:
    matrix = _tfidf(counts, _idf(counts))
    top, scores = _rank_rows(matrix, np.arange(matrix.shape[0]), k)
    return Ranking(k, slugs, keys, vocabulary, counts, matrix, top, scores)


def rerank(known: Ranking, papers: Sequence[Paper], keys: list[str]) -> Ranking:
    """`known` brought up to date with the papers' texts (the same papers, in slug order):
    only the rows an edit moved are ranked again."""
    edited = np.array([i for i, key in enumerate(keys) if key != known.text_keys[i]])
    counted = [term_counts(papers[i]) for i in edited]
    vocabulary, counts, matrix = known.vocabulary, known.counts, known.matrix
    new_terms = set(chain.from_iterable(counted)).difference(vocabulary)
    if new_terms:  # columns keep their order: a sorted vocabulary, merged
        vocabulary = sorted(new_terms.union(vocabulary))
        new_column = np.searchsorted(vocabulary, known.vocabulary)
        counts = _with_columns(counts, new_column, len(vocabulary))
        matrix = _with_columns(matrix, new_column, len(vocabulary))
    old_frequency = np.bincount(counts.indices, minlength=len(vocabulary))
    counts = _with_rows(counts, edited, _count_matrix(counted, vocabulary))
    frequency = np.bincount(counts.indices, minlength=len(vocabulary))
    # A row moves when its text changed or when the weight of one of its terms did.
    changed_terms = np.flatnonzero(frequency != old_frequency)
    moved = np.zeros(len(keys), dtype=bool)
    moved[edited] = True
    rows_of_cells = np.repeat(np.arange(len(keys)), np.diff(counts.indptr))
    moved[rows_of_cells[np.isin(counts.indices, changed_terms)]] = True
    if moved.sum() > MOST_MOVED * len(keys):
        return _ranked(counts, known.slugs, keys, vocabulary, known.k)
    moved_rows = np.flatnonzero(moved)
    matrix = _with_rows(matrix, moved_rows, _tfidf(counts[moved_rows], _idf(counts)))
    # Rows that kept a moved paper among their best are ranked again in full (a moved
    # paper may have fallen behind one that was not kept); the rest merge.
    again = moved | np.isin(known.top, moved_rows).any(axis=1)
    top, scores = known.top.copy(), known.scores.copy()
    rows = np.flatnonzero(again)
    top[rows], scores[rows] = _rank_rows(matrix, rows, known.k)
    rest = np.flatnonzero(~again)
    top[rest], scores[rest] = _merge(matrix, rest, moved_rows, known)
    return Ranking(known.k, known.slugs, keys, vocabulary, counts, matrix, top, scores)


def _merge(
    matrix: sparse.csr_matrix, rows: np.ndarray, moved: np.ndarray, known: Ranking
) -> tuple[np.ndarray, np.ndarray]:
    """The k best of `rows` from their kept best (none of them moved) and their scores
    against the moved rows: every other paper scored at most the kept k-th."""
    if not len(rows):
        return known.top[rows], known.scores[rows]
    against = np.round((matrix[rows] @ matrix[moved].T).toarray(), SCORE_DIGITS)
    columns = np.concatenate([known.top[rows], np.broadcast_to(moved, against.shape)], axis=1)
    scores = np.concatenate([known.scores[rows], against], axis=1)
    return _best(columns, scores, known.k)


def _rank_rows(
    matrix: sparse.csr_matrix, rows: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """The k best columns of these rows of matrix @ matrix.T, on every core for many."""
    transposed = matrix.T.tocsr()
    rows_per_block = max(16, min(1024, BLOCK_CELLS // matrix.shape[0]))

    def block_top(start: int) -> tuple[np.ndarray, np.ndarray]:
        block_rows = rows[start : start + rows_per_block]
        block = (matrix[block_rows] @ transposed).toarray()
        block[np.arange(len(block_rows)), block_rows] = -1.0  # a paper is not related to itself
        return _top(block, k)

    blocks = parallel.fork_map(block_top, range(0, len(rows), rows_per_block), min_items=4)
    if not blocks:
        return np.empty((0, k), dtype=np.int64), np.empty((0, k))
    return np.concatenate([b[0] for b in blocks]), np.concatenate([b[1] for b in blocks])


def _top(block: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's k best columns with a rounded score above 0, best first; equal scores
    go to the lower column (papers are in slug order: the slug that sorts first)."""
    # A few extra candidates by raw score, so that ties at the k-th place are broken by
    # column; rows whose candidates might not hold every tie are sorted in full.
    count = min(k + 8, block.shape[1] - 1)
    candidates = np.argpartition(-block, count, axis=1)[:, :count]
    scores = np.round(np.take_along_axis(block, candidates, axis=1), SCORE_DIGITS)
    columns, best = _best(candidates, scores, k)
    if count < block.shape[1] - 1:
        # (a row with fewer than k positive scores holds every positive one already)
        full = np.flatnonzero((best[:, -1] > 0) & (scores.min(axis=1) >= best[:, -1]))
        everything = np.broadcast_to(np.arange(block.shape[1]), (len(full), block.shape[1]))
        rounded = np.round(block[full], SCORE_DIGITS)
        columns[full], best[full] = _best(everything, rounded, k)
    return columns, best


def _best(columns: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the k candidates with the highest score above 0 (ties: lower column),
    padded with column -1 and score 0."""
    scores = np.where(columns >= 0, scores, 0.0)
    order = np.lexsort((columns, -scores), axis=-1)[:, :k]
    columns = np.take_along_axis(columns, order, axis=1)
    scores = np.take_along_axis(scores, order, axis=1)
    keep = scores > 0
    columns, scores = np.where(keep, columns, -1), np.where(keep, scores, 0.0)
    if columns.shape[1] < k:  # fewer candidates than k (tiny sites)
        pad = k - columns.shape[1]
        columns = np.pad(columns, ((0, 0), (0, pad)), constant_values=-1)
        scores = np.pad(scores, ((0, 0), (0, pad)))
    return columns, scores


def _count_matrix(counted: list[Counter[str]], vocabulary: list[str]) -> sparse.csr_matrix:
    """Term counts as a paper-by-term matrix over the sorted vocabulary, in C loops: a
    Python loop over the million (paper, term) pairs would take seconds."""
    column_of = {term: i for i, term in enumerate(vocabulary)}
    pairs = sum(len(c) for c in counted)
    columns = np.fromiter(
        map(column_of.__getitem__, chain.from_iterable(counted)), dtype=np.int32, count=pairs
    )
    values = np.fromiter(chain.from_iterable(c.values() for c in counted), np.int32, pairs)
    pointers = np.concatenate([[0], np.cumsum([len(c) for c in counted])])
    matrix = sparse.csr_matrix((values, columns, pointers), shape=(len(counted), len(vocabulary)))
    matrix.sort_indices()
    return matrix


def _with_columns(
    counts: sparse.csr_matrix, new_column: np.ndarray, width: int
) -> sparse.csr_matrix:
    """The same counts over a larger vocabulary: column c becomes new_column[c]."""
    return sparse.csr_matrix(
        (counts.data, new_column[counts.indices].astype(np.int32), counts.indptr),
        shape=(counts.shape[0], width),
    )


def _with_rows(
    matrix: sparse.csr_matrix, rows: np.ndarray, replacement: sparse.csr_matrix
) -> sparse.csr_matrix:
    """matrix with its `rows` replaced by the rows of `replacement`, in that order; the
    values within each row keep their order."""
    pieces = []
    previous = 0
    for position, row in enumerate(rows.tolist()):
        pieces += [matrix[previous:row], replacement[position : position + 1]]
        previous = row + 1
    pieces.append(matrix[previous:])
    stacked: sparse.csr_matrix = sparse.vstack(pieces, format="csr")
    return stacked


def _idf(counts: sparse.csr_matrix) -> np.ndarray:
    document_frequency = np.bincount(counts.indices, minlength=counts.shape[1])
    idf: np.ndarray = np.log((1 + counts.shape[0]) / (1 + document_frequency)) + 1.0
    return idf


def _tfidf(counts: sparse.csr_matrix, idf: np.ndarray) -> sparse.csr_matrix:
    """Each row's TERMS_PER_PAPER heaviest terms (ties: the term that sorts first),
    weighted and scaled to length 1. A row's values and their order depend only on its
    counts and the idf of its terms: a row made again in a rebuild is bit for bit the one
    a clean build makes, and so are the sums over it."""
    row_index = np.repeat(np.arange(counts.shape[0]), np.diff(counts.indptr))
    col_index = counts.indices.astype(np.int64)
    weights = (1.0 + np.log(counts.data)) * idf[col_index]
    order = np.lexsort((col_index, -weights, row_index))
    row_index, col_index, weights = row_index[order], col_index[order], weights[order]
    starts = np.searchsorted(row_index, row_index, side="left")
    keep = (np.arange(len(row_index)) - starts) < TERMS_PER_PAPER
    row_index, col_index, weights = row_index[keep], col_index[keep], weights[keep]
    norms = np.sqrt(np.bincount(row_index, weights=weights * weights, minlength=counts.shape[0]))
    norms[norms == 0] = 1.0
    pointers = np.concatenate([[0], np.cumsum(np.bincount(row_index, minlength=counts.shape[0]))])
    return sparse.csr_matrix((weights / norms[row_index], col_index, pointers), shape=counts.shape)

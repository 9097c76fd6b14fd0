"""Related papers ranked: the k most similar papers to each one by TF-IDF cosine over
title and abstract. Each paper is reduced to its most telling terms; scores are SciPy's
sparse product of those rows, a block of rows at a time as a dense array whose k best
per row are kept (in a worker process, beside the build's other work: related.py).

A term's weight (IDF) is counted over the oldest papers only, as many as the largest
power of two not above their number (all below IDF_OVER_ALL_BELOW): the weights hold
still while digests are added, until the site doubles, instead of reordering near ties
all over the site with every digest.

The cache keeps the term counts and every paper's k best scores: a rebuild recomputes
only the rows it can move (new and edited papers, and those with a term whose weight
changed) and merges the others' kept scores with their scores against the moved rows:
the same floats, summed in the same order, as a clean build."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

import numpy as np

from labdigest.cache import Cache
from labdigest.csr import Csr
from labdigest.models import Paper, Unsent
from labdigest.topics import searchable_text

TOKEN_RE = re.compile(r"[a-z][a-z0-9-]{2,}")
# fmt: off
STOP_WORDS = frozenset([
    "the", "and", "for", "with", "that", "this", "from", "are", "our", "which", "can", "its",
    "their", "these", "than", "into", "over", "such", "also", "been", "has", "have", "was",
    "were", "not", "but", "all", "more", "most", "both", "each", "other", "using", "based",
    "via", "while", "when", "where", "how", "what", "show", "shows", "propose", "proposed",
    "present", "method", "methods", "approach", "paper", "work", "results", "new", "model",
    "models", "task", "tasks",
])
# fmt: on
TERMS_PER_PAPER = 24  # the highest-weighted terms say what a paper is about
SCORE_DIGITS = 6  # scores are rounded: float noise never reorders equal scores
# When an edit moves more rows than this share of all, ranking everything is as quick.
MOST_MOVED = 0.05
# Rows are scored a block at a time, as a dense array of about this many cells (32 MiB).
DENSE_CELLS = 1 << 22
GROUP_SIZE = 16  # columns per group when a row's best are looked for (_top)
ROWS_AT_ONCE = 8192  # rows of term weights padded into one array (tens of MiB)
IDF_OVER_ALL_BELOW = 2048  # below this many papers, a term is weighed over all of them


@dataclass(slots=True)
class Ranking:
    """What the cache keeps between builds: the papers (in slug order) and their texts'
    keys, the term counts over a sorted vocabulary and the terms' weights, and each
    paper's k best columns with their rounded scores (-1 and 0 where a paper has fewer
    than k related papers)."""

    k: int
    slugs: list[str]
    text_keys: list[str]
    vocabulary: list[str]
    counts: Csr  # paper by term → occurrences (int32)
    idf: np.ndarray  # term → weight (_idf)
    matrix: Csr  # paper by term → TF-IDF weight (_tfidf), rows of length 1
    top: np.ndarray  # paper by k → column (int64)
    scores: np.ndarray  # paper by k → rounded score (float64)

    def result(self) -> dict[str, tuple[str, ...]]:
        slugs = self.slugs
        return {
            slug: tuple(slugs[column] for column in row if column >= 0)
            for slug, row in zip(slugs, self.top.tolist(), strict=True)
        }


class TextNotSent(Exception):
    """A paper's text is needed that the ranking was not given (Unsent)."""


def term_counts(paper: Paper | Unsent) -> Counter[str]:
    """How often each telling word occurs; the title says most about a paper, so its
    words count twice."""
    if isinstance(paper, Unsent):
        raise TextNotSent(paper.slug)
    counts = Counter(TOKEN_RE.findall(searchable_text(paper)))
    counts.update(TOKEN_RE.findall(paper.title.lower()))
    for word in STOP_WORDS.intersection(counts):
        del counts[word]
    return counts


def ranked(
    ordered: Sequence[Paper | Unsent], keys: list[str], k: int, cache: Cache | None
) -> dict[str, tuple[str, ...]]:
    """slug → up to k slugs of the most similar papers, for papers in slug order and the
    keys of their texts and dates: re-ranked from the cached ranking where there is one."""
    known = cache.load("related", k) if cache else None
    if isinstance(known, Ranking):
        if known.slugs == [p.slug for p in ordered] and known.text_keys == keys:
            return known.result()
        ranking = rerank(known, ordered, keys)
    else:
        ranking = rank(ordered, keys, k)
    if cache is not None:
        cache.store("related", k, ranking)
    return ranking.result()


def rank(papers: Sequence[Paper | Unsent], keys: list[str], k: int) -> Ranking:
    """Every paper ranked against every other (papers in slug order)."""
    counts, vocabulary = _counted(papers)
    return _ranked(counts, [p.slug for p in papers], keys, vocabulary, _idf(counts, papers), k)


def _counted(papers: Sequence[Paper | Unsent]) -> tuple[Csr, list[str]]:
    """Every paper's term counts over their sorted vocabulary."""
    counted = [term_counts(paper) for paper in papers]
    vocabulary = sorted(set(chain.from_iterable(counted)))
    return _count_matrix(counted, vocabulary), vocabulary


def _ranked(
    counts: Csr, slugs: list[str], keys: list[str], vocabulary: list[str], idf: np.ndarray, k: int
) -> Ranking:
    matrix = _tfidf(counts, idf)
    top, scores = _rank_rows(matrix, np.arange(matrix.shape[0]), k)
    return Ranking(k, slugs, keys, vocabulary, counts, idf, matrix, top, scores)


def rerank(known: Ranking, papers: Sequence[Paper | Unsent], keys: list[str]) -> Ranking:
    """`known` brought up to date with the papers (in slug order; some new, some edited,
    some gone): only the rows that moved are ranked again."""
    known, lost = _aligned(known, [p.slug for p in papers])
    edited = np.array([i for i, key in enumerate(keys) if key != known.text_keys[i]], np.int64)
    counted = [term_counts(papers[i]) for i in edited]
    vocabulary, counts, matrix, old_idf = known.vocabulary, known.counts, known.matrix, known.idf
    new_terms = set(chain.from_iterable(counted)).difference(vocabulary)
    if new_terms:  # columns keep their order: a sorted vocabulary, merged
        vocabulary = sorted(new_terms.union(vocabulary))
        new_column = np.searchsorted(vocabulary, known.vocabulary)
        counts = counts.with_columns(new_column, len(vocabulary))
        matrix = matrix.with_columns(new_column, len(vocabulary))
        old_idf = np.full(len(vocabulary), np.nan)  # (a new term's weight is new)
        old_idf[new_column] = known.idf
    counts = counts.with_rows(edited, _count_matrix(counted, vocabulary))
    idf = _idf(counts, papers)
    # A row moves when its text changed or when the weight of one of its terms did.
    changed_terms = np.flatnonzero(idf != old_idf)
    moved = np.zeros(len(keys), dtype=bool)
    moved[edited] = True
    rows_of_cells = np.repeat(np.arange(len(keys)), np.diff(counts.indptr))
    moved[rows_of_cells[np.isin(counts.indices, changed_terms)]] = True
    if moved.sum() > MOST_MOVED * len(keys):
        return _ranked(counts, known.slugs, keys, vocabulary, idf, known.k)
    moved_rows = np.flatnonzero(moved)
    matrix = matrix.with_rows(moved_rows, _tfidf(counts.rows(moved_rows), idf))
    # Rows that kept a moved or gone paper among their best are ranked again in full (a
    # moved paper may have fallen behind one that was not kept); the rest merge.
    again = moved | lost | np.isin(known.top, moved_rows).any(axis=1)
    top, scores = known.top.copy(), known.scores.copy()
    rows = np.flatnonzero(again)
    top[rows], scores[rows] = _rank_rows(matrix, rows, known.k)
    rest = np.flatnonzero(~again)
    top[rest], scores[rest] = _merge(matrix, rest, moved_rows, known)
    return Ranking(known.k, known.slugs, keys, vocabulary, counts, idf, matrix, top, scores)


def _aligned(known: Ranking, slugs: list[str]) -> tuple[Ranking, np.ndarray]:
    """`known` with a row for each of `slugs`, in that order (a new paper's row a stand-in
    with no text key, to be made again), and which rows lost one of their best (gone)."""
    now_at = {slug: i for i, slug in enumerate(slugs)}
    moved_to = np.array([now_at.get(slug, -1) for slug in known.slugs], dtype=np.int64)
    was_at = np.full(len(slugs), -1, dtype=np.int64)
    was_at[moved_to[moved_to >= 0]] = np.flatnonzero(moved_to >= 0)
    rows = np.maximum(was_at, 0)
    kept_top = known.top[rows]
    top = np.where(kept_top >= 0, moved_to[kept_top], -1)
    lost = np.any((kept_top >= 0) & (top < 0), axis=1)
    keys = [known.text_keys[was] if was >= 0 else "" for was in was_at.tolist()]
    counts, matrix, scores = known.counts.rows(rows), known.matrix.rows(rows), known.scores[rows]
    aligned = Ranking(
        known.k, slugs, keys, known.vocabulary, counts, known.idf, matrix, top, scores
    )
    return aligned, lost


def _merge(
    matrix: Csr, rows: np.ndarray, moved: np.ndarray, known: Ranking
) -> tuple[np.ndarray, np.ndarray]:
    """The k best of `rows` from their kept best (none of them moved) and their scores
    against the moved rows: every other paper scored at most the kept k-th."""
    if not len(rows):
        return known.top[rows], known.scores[rows]

    def merged(block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        against = np.round(_scores_against(matrix, block, moved), SCORE_DIGITS)
        columns = np.concatenate([known.top[block], np.broadcast_to(moved, against.shape)], 1)
        return _best(columns, np.concatenate([known.scores[block], against], axis=1), known.k)

    return _in_blocks(rows, len(moved), merged)


def _scores_against(matrix: Csr, rows: np.ndarray, others: np.ndarray) -> np.ndarray:
    """matrix[rows] @ matrix[others].T as a dense array: each pair's products summed in
    the order of the row's terms, as in _rank_rows (a term the other lacks adds none)."""
    sparse = _sparse(matrix)
    product = sparse[rows] @ sparse[others].T
    return np.asarray(product.toarray(), dtype=np.float64)


def _rank_rows(matrix: Csr, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k best columns of these rows of matrix @ matrix.T."""
    if not len(rows):
        return _no_rows(k)
    sparse = _sparse(matrix)
    transposed = sparse.T.tocsr()

    def ranked(block_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        block = np.asarray((sparse[block_rows] @ transposed).toarray(), dtype=np.float64)
        block[np.arange(len(block_rows)), block_rows] = -1.0  # a paper is not related to itself
        return _top(block, k)

    return _in_blocks(rows, matrix.shape[0], ranked)


def _in_blocks(
    rows: np.ndarray, width: int, rank: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
) -> tuple[np.ndarray, np.ndarray]:
    """rank(block) over blocks of rows whose scores, `width` a row, are about DENSE_CELLS
    (two new digests merged with 100,000 kept rows were 1 GB at once), joined."""
    step = max(1, DENSE_CELLS // max(1, width))
    parts = [rank(rows[start : start + step]) for start in range(0, len(rows), step)]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _sparse(matrix: Csr) -> Any:
    from scipy.sparse import csr_matrix

    return csr_matrix((matrix.data, matrix.indices, matrix.indptr), shape=matrix.shape)


def _no_rows(k: int) -> tuple[np.ndarray, np.ndarray]:
    return np.empty((0, k), dtype=np.int64), np.empty((0, k))


def _top(block: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's k best columns with a rounded score above 0, best first; equal scores
    go to the lower column (papers are in slug order: the slug that sorts first). Looked
    for among the cells of the row's k + 8 column groups of highest maxima (column j *
    width + g is in group g): a cell left out is at most the lowest of those maxima, so
    only a row where that rounds to the k-th score (ties) is sorted in full."""
    rows, columns = block.shape
    count = min(k + 8, columns - 1)
    size = max(1, min(GROUP_SIZE, columns // (2 * count)))
    width = columns // size
    whole = width * size
    grouped = block[:, :whole].reshape(rows, size, width)
    maxima = grouped.max(axis=1)
    taken = np.argpartition(-maxima, count - 1, axis=1)[:, :count]
    lowest = np.take_along_axis(maxima, taken, axis=1).min(axis=1)
    members = np.arange(size)[None, :, None]
    values = grouped[np.arange(rows)[:, None, None], members, taken[:, None, :]]
    candidates = (members * width + taken[:, None, :]).reshape(rows, -1)
    values = values.reshape(rows, -1)
    if whole < columns:  # (the last few columns, in no group, are always candidates)
        rest = np.arange(whole, columns)
        candidates = np.concatenate([candidates, np.broadcast_to(rest, (rows, len(rest)))], 1)
        values = np.concatenate([values, block[:, whole:]], axis=1)
    top, best = _best(candidates, np.round(values, SCORE_DIGITS), k)
    ties = np.flatnonzero((best[:, -1] > 0) & (np.round(lowest, SCORE_DIGITS) >= best[:, -1]))
    if len(ties):
        everything = np.broadcast_to(np.arange(columns), (len(ties), columns))
        top[ties], best[ties] = _best(everything, np.round(block[ties], SCORE_DIGITS), k)
    return top, best


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


def _count_matrix(counted: list[Counter[str]], vocabulary: list[str]) -> Csr:
    """Term counts as a paper-by-term matrix over the sorted vocabulary, columns in order
    within each row, in C loops: a Python loop over the million (paper, term) pairs would
    take seconds."""
    column_of = {term: i for i, term in enumerate(vocabulary)}
    pairs = sum(len(c) for c in counted)
    columns = np.fromiter(
        map(column_of.__getitem__, chain.from_iterable(counted)), dtype=np.int32, count=pairs
    )
    values = np.fromiter(chain.from_iterable(c.values() for c in counted), np.int32, pairs)
    lengths = np.fromiter(map(len, counted), np.int64, len(counted))
    order = np.lexsort((columns, np.repeat(np.arange(len(counted)), lengths)))
    pointers = np.concatenate([[0], np.cumsum(lengths)])
    return Csr(values[order], columns[order], pointers, (len(counted), len(vocabulary)))


def _idf(counts: Csr, papers: Sequence[Paper | Unsent]) -> np.ndarray:
    """Each term's weight, from the number of papers of the IDF base that have it."""
    base = counts.rows(idf_base(papers))
    document_frequency = np.bincount(base.indices, minlength=counts.shape[1])
    idf: np.ndarray = np.log((1 + base.shape[0]) / (1 + document_frequency)) + 1.0
    return idf


def idf_base(papers: Sequence[Paper | Unsent]) -> np.ndarray:
    """The rows of the papers whose texts weigh the terms: the oldest (by date, then
    slug), as many as the largest power of two not above their number; all of them on a
    site of fewer than IDF_OVER_ALL_BELOW. In row order."""
    size = len(papers)
    if size >= IDF_OVER_ALL_BELOW:
        size = 1 << (size.bit_length() - 1)
    oldest = sorted(range(len(papers)), key=lambda i: (papers[i].date, papers[i].slug))
    return np.sort(np.array(oldest[:size], dtype=np.int64))


def _kth_largest(values: np.ndarray, indptr: np.ndarray, kth: int) -> np.ndarray:
    """Each row's kth largest value (rows as compressed rows give them), or -inf for a
    row of at most kth values. Rows are partitioned ROWS_AT_ONCE at a time, padded with
    -inf to the longest of them."""
    lengths = np.diff(indptr)
    result = np.full(len(lengths), -np.inf)
    for start in range(0, len(lengths), ROWS_AT_ONCE):
        part = lengths[start : start + ROWS_AT_ONCE]
        width = int(part.max(initial=0))
        if width <= kth:
            continue
        padded = np.full((len(part), width), -np.inf)
        padded[np.arange(width) < part[:, None]] = values[indptr[start] : indptr[start + len(part)]]
        place = width - kth  # of the kth largest, in each row's ascending order
        result[start : start + len(part)] = np.partition(padded, place, axis=1)[:, place]
    result[lengths <= kth] = -np.inf
    return result


def _tfidf(counts: Csr, idf: np.ndarray) -> Csr:
    """Each row's TERMS_PER_PAPER heaviest terms (ties: the term that sorts first),
    weighted and scaled to length 1. A row's values and their order depend only on its
    counts and the idf of its terms: a row made again in a rebuild is bit for bit the one
    a clean build makes, and so are the sums over it."""
    lengths = np.diff(counts.indptr)
    row_index = np.repeat(np.arange(counts.shape[0]), lengths)
    col_index = counts.indices.astype(np.int64)
    weights = (1.0 + np.log(counts.data)) * idf[col_index]
    # Only the cells at or above their row's TERMS_PER_PAPER-th weight can be kept: they
    # alone are sorted (a quarter of the cells: the sort was most of this function's time).
    threshold = _kth_largest(weights, counts.indptr, TERMS_PER_PAPER)
    candidate = np.flatnonzero(weights >= np.repeat(threshold, lengths))
    row_index, col_index, weights = row_index[candidate], col_index[candidate], weights[candidate]
    order = np.lexsort((col_index, -weights, row_index))
    row_index, col_index, weights = row_index[order], col_index[order], weights[order]
    starts = np.searchsorted(row_index, row_index, side="left")
    keep = (np.arange(len(row_index)) - starts) < TERMS_PER_PAPER
    row_index, col_index, weights = row_index[keep], col_index[keep], weights[keep]
    norms = np.sqrt(np.bincount(row_index, weights=weights * weights, minlength=counts.shape[0]))
    norms[norms == 0] = 1.0
    pointers = np.concatenate([[0], np.cumsum(np.bincount(row_index, minlength=counts.shape[0]))])
    return Csr(weights / norms[row_index], col_index.astype(np.int32), pointers, counts.shape)

"""The inner loops of ranking related papers, compiled with Numba: each paper's scores
against every other, summed term by term through an inverted index, and its k best kept
as they are summed. Ranking 100,000 synthetic papers means three billion multiply-adds
(a fifth of all pairs share a term). SciPy's sparse product, which did this before, wrote
the 1.6 billion nonzero scores out for NumPy to pick the best from: with that pass, 2.2
times the core time of this kernel.

Both functions sum exactly as ranking._scores_of_rows does, and as SciPy's product did
(for each term of a row in the row's order, its weight times the other paper's, added
to that paper's score), so that every path of ranking.py gives the same floats.

Compiled once per machine (Numba keeps the machine code in a __pycache__ folder, or in
the user's cache where that is read-only): the signatures are given, so the compiling
or loading happens on import, in the process that imports this module, before it forks
workers that share the compiled code."""

from __future__ import annotations

import numba
import numpy as np

# rows, then a matrix's compressed rows (indptr, indices, data), then an inverted index
# of some of its rows (term_starts, term_papers, term_weights): see ranking._postings.
_ARRAYS = (
    "int64[::1], Tuple((int64[::1], int32[::1], float64[::1])),"
    " Tuple((int64[::1], int64[::1], float64[::1]))"
)
CompressedRows = tuple[np.ndarray, np.ndarray, np.ndarray]  # indptr, indices, data
Postings = tuple[np.ndarray, np.ndarray, np.ndarray]  # term_starts, term_papers, term_weights


@numba.njit(f"Tuple((int64[:, ::1], float64[:, ::1]))({_ARRAYS}, int64, float64)", cache=True)
def best_of_rows(
    rows: np.ndarray, matrix: CompressedRows, postings: Postings, k: int, scale: float
) -> tuple[np.ndarray, np.ndarray]:
    """For each of these rows of a paper-by-term matrix (postings: the inverted index of
    all its rows, papers in order), the k columns of the best scores that round (to 1/scale)
    above 0, best first, ties to the lower column, the paper itself left out; padded
    with column -1 and score 0."""
    indptr, indices, data = matrix
    term_starts, term_papers, term_weights = postings
    papers = len(indptr) - 1
    score = np.zeros(papers)
    touched = np.empty(papers + 1, np.int64)  # the papers scored so far, in that order
    top_columns = np.full((len(rows), k), -1, np.int64)
    top_scores = np.zeros((len(rows), k))
    margin = 1.0 / scale  # a score this far below the k-th best rounds below it
    for place in range(len(rows)):
        row = rows[place]
        count = 0
        for cell in range(indptr[row], indptr[row + 1]):
            term, weight = indices[cell], data[cell]
            for posting in range(term_starts[term], term_starts[term + 1]):
                paper = term_papers[posting]
                before = score[paper]
                # Without a branch: whether a paper was scored before is a coin toss
                # the processor would mispredict half the time (weights are above 0).
                touched[count] = paper
                count += before == 0.0
                score[paper] = before + weight * term_weights[posting]
        columns, best = top_columns[place], top_scores[place]
        kept, floor = 0, 0.0
        for position in range(count):
            paper = touched[position]
            raw = score[paper]
            score[paper] = 0.0
            if raw < floor or paper == row:
                continue
            rounded = np.rint(raw * scale) / scale  # as np.round(raw, digits) rounds
            if not rounded > 0.0:
                continue
            if kept < k:
                at = kept
                kept += 1
            elif rounded > best[k - 1] or (rounded == best[k - 1] and paper < columns[k - 1]):
                at = k - 1
            else:
                continue
            while at > 0 and (
                best[at - 1] < rounded or (best[at - 1] == rounded and columns[at - 1] > paper)
            ):
                best[at], columns[at] = best[at - 1], columns[at - 1]
                at -= 1
            best[at], columns[at] = rounded, paper
            if kept == k:
                floor = best[k - 1] - margin
    return top_columns, top_scores


@numba.njit(f"float64[:, ::1]({_ARRAYS}, int64)", cache=True)
def scores_against(
    rows: np.ndarray, matrix: CompressedRows, postings: Postings, width: int
) -> np.ndarray:
    """The scores of these rows (as in best_of_rows) against the papers of an inverted
    index of some papers (postings: numbered 0 to width - 1), as a dense array."""
    indptr, indices, data = matrix
    term_starts, term_papers, term_weights = postings
    scores = np.zeros((len(rows), width))
    for place in range(len(rows)):
        row = rows[place]
        for cell in range(indptr[row], indptr[row + 1]):
            term, weight = indices[cell], data[cell]
            for posting in range(term_starts[term], term_starts[term + 1]):
                scores[place, term_papers[posting]] += weight * term_weights[posting]
    return scores

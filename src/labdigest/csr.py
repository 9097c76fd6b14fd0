"""A sparse matrix in compressed rows, as NumPy arrays alone: related papers' term counts
and weights (ranking.py), kept in the build cache, whose loading imports nothing else;
SciPy multiplies them (ranking._sparse)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Csr(NamedTuple):
    """A sparse matrix in compressed rows: row i's columns are indices[indptr[i]:indptr[i
    + 1]] and its values the same slice of data. Kept in the build cache, whose loading
    imports nothing but NumPy."""

    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    shape: tuple[int, int]

    def rows(self, rows: np.ndarray) -> Csr:
        """These rows, in this order; each row's values keep their order."""
        lengths = np.diff(self.indptr)[rows]
        return _gathered(self.data, self.indices, self.indptr[rows], lengths, self.shape[1])

    def with_rows(self, rows: np.ndarray, replacement: Csr) -> Csr:
        """These rows replaced by the rows of `replacement`, in that order."""
        lengths, starts = np.diff(self.indptr), self.indptr[:-1].copy()
        lengths[rows] = np.diff(replacement.indptr)
        starts[rows] = replacement.indptr[:-1] + len(self.data)  # in the joined arrays
        data = np.concatenate([self.data, replacement.data])
        indices = np.concatenate([self.indices, replacement.indices])
        return _gathered(data, indices, starts, lengths, self.shape[1])

    def with_columns(self, new_column: np.ndarray, width: int) -> Csr:
        """The same values over more columns: column c becomes new_column[c]."""
        indices = new_column[self.indices].astype(self.indices.dtype)
        return Csr(self.data, indices, self.indptr, (self.shape[0], width))


def _gathered(
    data: np.ndarray, indices: np.ndarray, starts: np.ndarray, lengths: np.ndarray, width: int
) -> Csr:
    """The rows whose values are data[start:start + length] (and their columns the same
    slice of indices), one per (start, length)."""
    pointers = np.concatenate([[0], np.cumsum(lengths)])
    cells = np.repeat(starts - pointers[:-1], lengths) + np.arange(pointers[-1])
    return Csr(data[cells], indices[cells], pointers, (len(lengths), width))

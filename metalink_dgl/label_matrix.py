"""The (N, T) label matrix, dense or sparse, read one block of rows at a time.

Everything downstream of a dataset reads labels as ``Y[rows]``: a dense (B, T) float32 block,
NaN where a label is unknown. A dense ``torch.Tensor`` does that itself; :class:`SparseLabels`
does it for a matrix whose observed labels are few (a 10^6 x 10^3 assay matrix at 1 % density
is 4 GB dense and about 80 MB here), so that no step ever holds more than a block of rows
densely. Both give bit-identical blocks, so the training, the masks and the metrics are the
same on either (tests/test_label_matrix.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Union

import numpy as np
import torch

#: Storage choices of ``--label-storage``: ``auto`` is sparse below :data:`SPARSE_BELOW` density.
LABEL_STORAGES = ("auto", "dense", "sparse")
SPARSE_BELOW = 0.4
#: Rows read densely at a time by a pass over many rows (:func:`row_blocks`).
BLOCK_ROWS = 65_536

Index = Union[torch.Tensor, np.ndarray, list, slice]


class SparseLabels:
    """An (N, T) label matrix holding only its observed labels, row by row (CSR).

    Row ``i``'s labels are ``values[indptr[i]:indptr[i+1]]`` on the tasks
    ``indices[indptr[i]:indptr[i+1]]`` (increasing). Indexing with rows gives the dense block a
    dense tensor would give: ``SparseLabels.from_dense(Y)[rows]`` equals ``Y[rows]`` exactly.

    Parameters
    ----------
    indptr : Tensor, (N + 1,) int64
        Cumulative label counts, starting at 0.
    indices : Tensor, (nnz,) int32
        Task of each label.
    values : Tensor, (nnz,) float32
        The labels (0/1, or a value of a continuous task); never NaN.
    n_tasks : int
        T.
    """

    def __init__(self, indptr: torch.Tensor, indices: torch.Tensor, values: torch.Tensor, n_tasks: int):
        if indptr.dim() != 1 or len(indptr) < 1 or int(indptr[0]) != 0 or int(indptr[-1]) != len(values):
            raise ValueError("SparseLabels: indptr must run from 0 to the number of values")
        if len(indices) != len(values):
            raise ValueError("SparseLabels: indices and values differ in length")
        if len(indices) and (int(indices.min()) < 0 or int(indices.max()) >= n_tasks):
            raise ValueError(f"SparseLabels: a task index is outside 0..{n_tasks - 1}")
        self.indptr = indptr.to(torch.int64)
        self.indices = indices.to(torch.int32)
        self.values = values.to(torch.float32)
        self.shape = (len(indptr) - 1, int(n_tasks))

    @classmethod
    def from_dense(cls, Y: torch.Tensor | np.ndarray) -> SparseLabels:
        """The observed (non-NaN) entries of a dense (N, T) matrix."""
        Y = torch.as_tensor(Y, dtype=torch.float32)
        observed = ~torch.isnan(Y)
        rows, cols = observed.nonzero(as_tuple=True)  # row-major: rows ascending, tasks ascending within a row
        indptr = torch.zeros(Y.shape[0] + 1, dtype=torch.int64)
        indptr[1:] = torch.cumsum(observed.sum(dim=1), 0)
        return cls(indptr, cols, Y[rows, cols], Y.shape[1])

    @classmethod
    def from_coo(cls, rows: torch.Tensor | np.ndarray, tasks: torch.Tensor | np.ndarray,
                 values: torch.Tensor | np.ndarray, shape: tuple[int, int]) -> SparseLabels:
        """From (row, task, value) triplets in any order; a repeated (row, task) pair is an error."""
        rows, tasks = torch.as_tensor(rows, dtype=torch.int64), torch.as_tensor(tasks, dtype=torch.int64)
        values = torch.as_tensor(values, dtype=torch.float32)
        n, t = shape
        if len(rows) and (int(rows.min()) < 0 or int(rows.max()) >= n):
            raise ValueError(f"SparseLabels: a row index is outside 0..{n - 1}")
        if bool(torch.isnan(values).any()):
            raise ValueError("SparseLabels: a value is NaN (leave unknown labels out instead)")
        key = rows * t + tasks
        order = torch.argsort(key)
        if bool((key[order][1:] == key[order][:-1]).any()):
            raise ValueError("SparseLabels: a (row, task) pair is given twice")
        indptr = torch.zeros(n + 1, dtype=torch.int64)
        indptr[1:] = torch.cumsum(torch.bincount(rows, minlength=n), 0)
        return cls(indptr, tasks[order], values[order], t)

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        return f"SparseLabels({self.shape[0]} x {self.shape[1]}, {self.nnz} labels, density {self.density:.4f})"

    @property
    def nnz(self) -> int:
        """Number of observed labels."""
        return len(self.values)

    @property
    def density(self) -> float:
        """Observed fraction of the N x T cells."""
        cells = self.shape[0] * self.shape[1]
        return self.nnz / cells if cells else 0.0

    def _entries(self, rows: Index) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """For the rows ``rows`` (B of them): the (K,) position in ``rows`` and the (K,) entry of each of
        their labels, and the (B,) label count of each row."""
        idx = torch.arange(self.shape[0])[rows] if isinstance(rows, slice) else torch.as_tensor(rows).long()
        idx = idx.reshape(-1)
        starts, counts = self.indptr[idx], self.indptr[idx + 1] - self.indptr[idx]
        total = int(counts.sum())
        out_rows = torch.repeat_interleave(torch.arange(len(idx)), counts, output_size=total)
        within = torch.arange(total) - torch.repeat_interleave(torch.cumsum(counts, 0) - counts, counts,
                                                                output_size=total)
        return out_rows, torch.repeat_interleave(starts, counts, output_size=total) + within, counts

    def __getitem__(self, rows: Index) -> torch.Tensor:
        """The dense (B, T) float32 block of ``rows`` (1-D indices, repeats allowed, or a slice), NaN = unknown."""
        out_rows, entries, counts = self._entries(rows)
        block = torch.full((len(counts), self.shape[1]), float("nan"))
        block[out_rows, self.indices[entries].long()] = self.values[entries]
        return block

    def select_rows(self, rows: Index) -> SparseLabels:
        """The rows ``rows`` (in that order, repeats allowed) as a sparse matrix."""
        _, entries, counts = self._entries(rows)
        indptr = torch.zeros(len(counts) + 1, dtype=torch.int64)
        indptr[1:] = torch.cumsum(counts, 0)
        return SparseLabels(indptr, self.indices[entries], self.values[entries], self.shape[1])

    def select_tasks(self, tasks: list[int] | torch.Tensor) -> SparseLabels:
        """The task columns ``tasks`` (in that order, each at most once) as a sparse matrix."""
        tasks = torch.as_tensor(tasks, dtype=torch.int64)
        position = torch.full((self.shape[1],), -1, dtype=torch.int64)
        position[tasks] = torch.arange(len(tasks))
        new = position[self.indices.long()]
        keep = new >= 0
        rows = torch.repeat_interleave(torch.arange(self.shape[0]), self.indptr[1:] - self.indptr[:-1],
                                       output_size=self.nnz)
        return SparseLabels.from_coo(rows[keep], new[keep], self.values[keep], (self.shape[0], len(tasks)))


    def to_dense(self) -> torch.Tensor:
        """The whole (N, T) float32 matrix (small matrices and tests only)."""
        return self[slice(None)]

    def map_values(self, fn) -> SparseLabels:
        """A matrix of the same pattern with ``fn(values (nnz,), tasks (nnz,) int64)`` as its values."""
        return SparseLabels(self.indptr, self.indices, fn(self.values, self.indices.long()), self.shape[1])

    def nbytes(self) -> int:
        """Bytes held by the three arrays."""
        return sum(t.element_size() * t.numel() for t in (self.indptr, self.indices, self.values))


#: A label matrix: a dense (N, T) float32 tensor (NaN = unknown) or :class:`SparseLabels`.
LabelMatrix = Union[torch.Tensor, SparseLabels]


def as_label_matrix(Y: LabelMatrix | np.ndarray, storage: str = "auto") -> LabelMatrix:
    """``Y`` (N, T) stored as ``storage`` (:data:`LABEL_STORAGES`); ``auto`` is sparse when under
    :data:`SPARSE_BELOW` of the cells are observed, or when ``Y`` is sparse already."""
    if storage not in LABEL_STORAGES:
        raise ValueError(f"unknown label storage {storage!r}; choose one of {', '.join(LABEL_STORAGES)}")
    if isinstance(Y, SparseLabels):  # read sparse (a long-format file): dense only when asked for
        return Y.to_dense() if storage == "dense" else Y
    Y = torch.as_tensor(Y, dtype=torch.float32)
    sparse = storage == "sparse" or (storage == "auto" and Y.numel()
                                     and int(torch.count_nonzero(~torch.isnan(Y))) < SPARSE_BELOW * Y.numel())
    return SparseLabels.from_dense(Y) if sparse else Y


def row_blocks(Y: LabelMatrix, rows: torch.Tensor, size: int = BLOCK_ROWS) -> Iterator[torch.Tensor]:
    """The dense blocks ``Y[rows[k:k + size]]`` in order: a pass over many rows that never holds more
    than ``size`` of them densely."""
    for start in range(0, len(rows), size):
        yield Y[rows[start:start + size]]


def take(Y: LabelMatrix, rows: torch.Tensor, tasks: torch.Tensor) -> torch.Tensor:
    """The dense (R, C) block of ``rows`` (R,) on ``tasks`` (C,) long, built ``row_blocks`` at a time."""
    parts = [block[:, tasks] for block in row_blocks(Y, rows)]
    return torch.cat(parts) if parts else torch.zeros(0, len(tasks))


def task_columns(Y: LabelMatrix | np.ndarray) -> list[np.ndarray]:
    """The observed labels of each of the T tasks of ``Y``, in row order: T float32 arrays (one pass over a
    sparse matrix's labels, not one per task)."""
    if isinstance(Y, SparseLabels):
        order = torch.argsort(Y.indices.long(), stable=True)
        counts = torch.bincount(Y.indices.long(), minlength=Y.shape[1]).tolist()
        return [part.numpy() for part in torch.split(Y.values[order], counts)]
    Y = np.asarray(Y, dtype=np.float32)
    return [Y[~np.isnan(Y[:, j]), j] for j in range(Y.shape[1])]


def dense_tensor(Y: LabelMatrix | np.ndarray) -> torch.Tensor:
    """``Y`` as a dense (N, T) float32 tensor (small matrices: a ``predict`` support file)."""
    return Y.to_dense() if isinstance(Y, SparseLabels) else torch.as_tensor(Y, dtype=torch.float32)

"""Compact feature columns: small integer codes on disk and in memory, the exact dgllife tensors per batch.

dgllife's dense atom and bond features are concatenations of blocks, one per featurizer function
(element one-hot, degree one-hot, formal charge, ...; :meth:`FeaturizerSpec.blocks` reads them off
the featurizer). :func:`encode` stores every block that is one-hot in the data (values 0/1, at most
one 1 per row) as one uint8 code per row (the index of the 1, or the block width for a row of
zeros) and every other column as values of the narrowest dtype that holds them exactly (int8,
int16, int32, else the original dtype). Categorical features (one integer per row, e.g. dgllife's
pretrain featurizer) are stored as values alone. :meth:`Column.take` expands rows back to the
original tensor, bit for bit: the encoding is decided from the data, so it is exact for any featurizer.

Columns of several chunks are joined by :func:`merge_layouts` (a block stays a code only where it is
one-hot in every chunk, values take the widest dtype), which gives the layout that encoding all the
chunks at once would give: a bank does not depend on how it was chunked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch

#: Value dtypes from narrowest to widest; a column takes the first that holds its values exactly.
_LADDER = ("int8", "int16", "int32")
_MAX_CODE = 254  # a one-hot block of width w needs codes 0..w (w = no 1 in the row) in a uint8


@dataclass(frozen=True)
class Layout:
    """How one feature key is stored.

    Attributes
    ----------
    dtype : str
        Numpy name of the expanded dtype (``'float32'`` for dense dgllife features, ``'int64'`` for
        categorical ones).
    width : int
        Columns F of the expanded feature; 0 for a 1-D (categorical) feature.
    onehot : tuple of (int, int)
        ``(start, width)`` of each block stored as a uint8 code, in column order.
    values_dtype : str
        Numpy dtype of the stored values (the columns outside the one-hot blocks).
    """

    dtype: str
    width: int
    onehot: tuple[tuple[int, int], ...] = ()
    values_dtype: str = "int8"

    @cached_property
    def value_columns(self) -> np.ndarray:
        """(F - sum of one-hot widths,) int64: the columns stored as values (empty for a 1-D feature)."""
        coded = np.zeros(self.width, dtype=bool)
        for start, width in self.onehot:
            coded[start:start + width] = True
        return np.flatnonzero(~coded)

    def to_json(self) -> dict:
        return {"dtype": self.dtype, "width": self.width, "onehot": [list(b) for b in self.onehot],
                "values_dtype": self.values_dtype}

    @classmethod
    def from_json(cls, obj: dict) -> Layout:
        """Inverse of :meth:`to_json`; raises KeyError/TypeError/ValueError if ``obj`` is malformed."""
        layout = cls(str(obj["dtype"]), int(obj["width"]), tuple((int(s), int(w)) for s, w in obj["onehot"]),
                     str(obj["values_dtype"]))
        if any(np.dtype(name).name != name for name in (layout.dtype, layout.values_dtype)):
            raise ValueError(f"unknown dtype names {layout.dtype!r}, {layout.values_dtype!r}")
        if any(s < 0 or w < 1 or w > _MAX_CODE or s + w > layout.width for s, w in layout.onehot):
            raise ValueError(f"one-hot blocks {layout.onehot} do not fit width {layout.width}")
        return layout


@dataclass(frozen=True)
class Column:
    """One feature key of R rows (atoms or edges), stored compactly.

    Attributes
    ----------
    layout : Layout
    codes : np.ndarray
        (R, number of one-hot blocks) uint8; may be a read-only memory map.
    values : np.ndarray
        (R, number of value columns) or, for a 1-D feature, (R,); ``layout.values_dtype``.
    """

    layout: Layout
    codes: np.ndarray
    values: np.ndarray

    def __len__(self) -> int:
        return len(self.values)

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the expanded feature: (R, F), or (R,) for a 1-D feature."""
        return (len(self), self.layout.width) if self.layout.width else (len(self),)

    @property
    def nbytes(self) -> int:
        return int(self.codes.nbytes + self.values.nbytes)

    def take(self, rows: np.ndarray) -> torch.Tensor:
        """The expanded features of ``rows`` ((K,) int64): (K, F) or (K,) of ``layout.dtype``, exactly
        the tensor the featurizer gave."""
        dtype = getattr(torch, self.layout.dtype)
        values = torch.from_numpy(np.ascontiguousarray(self.values[rows]))
        if not self.layout.width:
            return values.to(dtype)
        out = torch.zeros((len(rows), self.layout.width), dtype=dtype)
        if self.layout.onehot:
            codes = torch.from_numpy(np.ascontiguousarray(self.codes[rows])).long()  # (K, blocks)
            starts, widths = (torch.tensor(x, dtype=torch.int64) for x in zip(*self.layout.onehot))
            # a code equal to the width means "no 1": write a 0 into the block's last column instead
            out.scatter_(1, starts + torch.minimum(codes, widths - 1), (codes < widths).to(dtype))
        if len(self.layout.value_columns):
            out[:, torch.from_numpy(self.layout.value_columns)] = values.to(dtype)
        return out

    def to_layout(self, layout: Layout) -> Column:
        """The same rows stored with ``layout`` (a wider one, from :func:`merge_layouts`)."""
        if layout == self.layout:
            return self
        return encode(self.take(np.arange(len(self))).numpy(), layout=layout)


def encode(x: np.ndarray, blocks: Sequence[tuple[int, int]] = (), layout: Layout | None = None) -> Column:
    """Store ``x`` compactly.

    Parameters
    ----------
    x : np.ndarray
        (R, F) dense features (any dtype) or (R,) integer categories.
    blocks : sequence of (start, width)
        Column blocks that may be one-hot (:meth:`FeaturizerSpec.blocks`); ignored for a 1-D ``x``.
        Blocks are only candidates: one that is not one-hot in ``x`` is stored as values.
    layout : Layout, optional
        Store with this layout instead of choosing one; it must hold ``x`` (ValueError otherwise).

    Returns
    -------
    Column
        ``take`` gives back ``x`` exactly.
    """
    if layout is None:
        layout = _choose_layout(x, blocks)
    coded = [x[:, s:s + w] for s, w in layout.onehot]
    if any(not _is_onehot(b) for b in coded):
        raise ValueError("a block stored as a one-hot code is not one-hot")
    codes = np.stack([np.where(b.any(1), b.argmax(1), b.shape[1]) for b in coded], axis=1).astype(np.uint8) \
        if coded else np.zeros((len(x), 0), dtype=np.uint8)
    values = x if x.ndim == 1 else x[:, layout.value_columns]
    if not _fits(values, np.dtype(layout.values_dtype)):
        raise ValueError(f"values do not fit {layout.values_dtype} exactly")
    return Column(layout, codes, np.ascontiguousarray(values.astype(layout.values_dtype)))


def merge_layouts(layouts: Sequence[Layout]) -> Layout:
    """One layout that holds the rows of every layout of ``layouts`` (same dtype and width): a block is a
    code only if it is one in all, values take the widest dtype."""
    first = layouts[0]
    if any(lay.dtype != first.dtype or lay.width != first.width for lay in layouts):
        raise ValueError("cannot merge layouts of different features")
    common = set.intersection(*(set(lay.onehot) for lay in layouts))
    ladder = _ladder(np.dtype(first.dtype))
    widest = max((lay.values_dtype for lay in layouts), key=ladder.index)
    return Layout(first.dtype, first.width, tuple(b for b in first.onehot if b in common), widest)


def _choose_layout(x: np.ndarray, blocks: Sequence[tuple[int, int]]) -> Layout:
    width = 0 if x.ndim == 1 else x.shape[1]
    onehot = tuple((s, w) for s, w in blocks if w <= _MAX_CODE and x.ndim == 2 and _is_onehot(x[:, s:s + w]))
    layout = Layout(x.dtype.name, width, onehot)
    values = x if x.ndim == 1 else x[:, layout.value_columns]
    values_dtype = next(d for d in _ladder(x.dtype) if _fits(values, np.dtype(d)))
    return Layout(x.dtype.name, width, onehot, values_dtype)


def _ladder(original: np.dtype) -> list[str]:
    return [d for d in _LADDER if np.dtype(d).itemsize < original.itemsize] + [original.name]


def _is_onehot(block: np.ndarray) -> bool:
    """Values 0/1 (no -0.0), at most one 1 per row."""
    return bool(((block == 0) | (block == 1)).all() and not np.signbit(block).any() and (block.sum(1) <= 1).all())


def _fits(values: np.ndarray, dtype: np.dtype) -> bool:
    """Whether ``values.astype(dtype)`` converts back to ``values`` bit for bit."""
    if values.size == 0 or values.dtype == dtype:
        return True
    if not np.issubdtype(dtype, np.integer):
        return False
    info = np.iinfo(dtype)
    if not (values.min() >= info.min and values.max() <= info.max):  # False for NaN too
        return False
    if np.issubdtype(values.dtype, np.floating):
        return bool(np.array_equal(np.trunc(values), values) and not np.signbit(values[values == 0]).any())
    return True

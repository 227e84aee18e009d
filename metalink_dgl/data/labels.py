"""Task cells -> label values and task types: the one label parser of training data and ``predict`` inputs.

A task is ``"binary"`` when its non-empty cells are all 0/1 (``0.0``/``1.0`` too) and
``"regression"`` (continuous) when they hold any other finite number; an all-empty task is
binary, and an empty cell is an unknown label. A type can be forced per task: a 0/1 column read
as ``"regression"`` is fine, a column forced to ``"binary"`` must hold only 0/1. Anything else in
a task cell (text, ``nan``, ``inf``) is a one-line :class:`~metalink_dgl.errors.MetaLinkError`
naming file, line and column. Surrounding spaces are ignored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..errors import MetaLinkError, preview
from .reader import Frame

#: The task types: 0/1 labels (ROC-AUC, BCE) and continuous values (RMSE/MAE/R2/Pearson, MSE).
TASK_TYPES = ("binary", "regression")
#: What a bad task value's message suggests by default.
TASK_COLUMNS_HINT = "if this is not a task column, list the task columns with task_columns / --task-columns"


def check_task_types(task_types: Mapping[str, str] | None, names: Sequence[str], source: str) -> dict[str, str]:
    """``task_types`` (task -> type) checked against the tasks ``names``; a one-line error for an unknown
    task or type."""
    task_types = dict(task_types or {})
    for name, kind in task_types.items():
        if kind not in TASK_TYPES:
            raise MetaLinkError(f"--task-types {name}={kind}: the type must be one of {', '.join(TASK_TYPES)}")
        if name not in names:
            raise MetaLinkError(f"{source}: --task-types names {name!r}, which is not a task column; the tasks are "
                                f"{preview(list(names))}")
    return task_types


def parse_labels(frame: Frame, positions: list[int], names: list[str], source: str,
                 hint: str = TASK_COLUMNS_HINT,
                 task_types: Mapping[str, str] | None = None) -> tuple[np.ndarray, list[str]]:
    """Parse the task cells of ``frame`` and infer each task's type; the first bad cell (in file order) raises.

    Parameters
    ----------
    frame : Frame
        N rows of raw cells with their file lines.
    positions : list of int
        Column of each of the T tasks in ``frame.cells``.
    names : list of str
        The T task names (for messages and ``task_types``).
    source : str
        File name for messages.
    hint : str
        The end of the message for a bad value: how to fix it.
    task_types : mapping of str to str, optional
        Forced type of some tasks (the others are inferred).

    Returns
    -------
    Y : ndarray, (N, T) float32
        0/1 or the value; NaN = unknown.
    types : list of str, (T,)
        ``"binary"`` or ``"regression"`` per task.
    """
    forced = check_task_types(task_types, names, source)
    cells = frame.cells[:, positions]  # fancy indexing: a copy, safe to write into
    zero, one, empty = _binary_cells(cells)
    other = ~(zero | one | empty)
    if other.any():  # tolerate surrounding spaces: strip only the cells that need it
        stripped = np.char.strip(cells[other].astype(str))
        cells[other] = stripped
        z, o, e = _binary_cells(stripped)
        zero[other], one[other], empty[other] = z, o, e
        other[other] = ~(z | o | e)
    numeric = other.any(axis=0)
    types = [forced.get(name, "regression" if numeric[j] else "binary") for j, name in enumerate(names)]
    continuous = np.array([kind == "regression" for kind in types], dtype=bool)
    Y = np.full(cells.shape, np.nan, dtype=np.float32)
    Y[zero] = 0.0
    Y[one] = 1.0
    values = _finite(cells[other & continuous])
    if values is None or (other & ~continuous).any():
        raise _first_bad(cells, other, continuous, frame.lines, names, source, hint)
    Y[other & continuous] = values
    return Y, types


def _binary_cells(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Masks (shape of ``cells``) of the cells that are exactly a 0, a 1 and empty."""
    return (cells == "0") | (cells == "0.0"), (cells == "1") | (cells == "1.0"), cells == ""


def _finite(cells: np.ndarray) -> np.ndarray | None:
    """The (K,) strings ``cells`` as float64 values, or None if one is not a finite number."""
    try:
        values = cells.astype(np.float64)
    except ValueError:
        return None
    return values if np.isfinite(values).all() else None


def _first_bad(cells: np.ndarray, other: np.ndarray, continuous: np.ndarray, lines: np.ndarray, names: list[str],
               source: str, hint: str) -> MetaLinkError:
    """The error of the first cell (row-major = file order) among ``other`` (N, T) that is neither a finite
    number in a continuous task (``continuous``, (T,)) nor 0/1/empty in a binary one."""
    for i, j in np.argwhere(other):
        where = f"{source}, line {lines[i]}, column {names[j]!r}: task value {str(cells[i, j])!r}"
        if not continuous[j]:
            return MetaLinkError(f"{where} is not 0, 1 or empty (empty = unknown label; --task-types "
                                 f"{names[j]}=binary); {hint}")
        if _finite(np.array([cells[i, j]], dtype=str)) is None:
            return MetaLinkError(f"{where} is not a number (empty = unknown label; a task holds 0/1 labels or finite "
                                 f"values); {hint}")
    raise AssertionError("no bad task cell")

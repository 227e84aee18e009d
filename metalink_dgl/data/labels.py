"""Task cells -> label values and task types: the one label parser of training data and ``predict`` inputs.

A task is ``"binary"`` when its non-empty cells are all 0/1 (``0.0``/``1.0`` too) and
``"regression"`` (continuous) when they hold any other finite number; an empty cell is an
unknown label. A type can be forced per task: a 0/1 column read as ``"regression"`` is fine, a
column forced to ``"binary"`` must hold only 0/1. Anything else in a task cell (text, ``nan``,
``inf``) is a one-line :class:`~metalink_dgl.errors.MetaLinkError` naming file, line and column.
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
_BINARY = {"0": 0.0, "1": 1.0, "0.0": 0.0, "1.0": 1.0}


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
    """Parse the task cells of ``frame``; the first bad cell (in file order) raises.

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
    cells = frame.cells[:, positions]
    needs_strip = ~np.isin(cells, [*_BINARY, ""])
    if needs_strip.any():  # tolerate surrounding spaces: strip only the cells that need it
        cells = cells.copy()
        cells[needs_strip] = [c.strip() for c in cells[needs_strip]]
    binary_cell = np.isin(cells, list(_BINARY))
    Y = np.full(cells.shape, np.nan, dtype=np.float32)
    Y[(cells == "1") | (cells == "1.0")] = 1.0
    Y[(cells == "0") | (cells == "0.0")] = 0.0
    other = ~binary_cell & (cells != "")
    types = [forced.get(name, "regression" if other[:, j].any() else "binary") for j, name in enumerate(names)]
    binary = np.array([kind == "binary" for kind in types], dtype=bool)
    if (other & binary).any():
        i, j = np.argwhere(other & binary)[0]
        why = f"--task-types {names[j]}=binary" if names[j] in forced else "a binary task"
        raise MetaLinkError(f"{source}, line {frame.lines[i]}, column {names[j]!r}: task value {cells[i, j]!r} is not "
                            f"0, 1 or empty (empty = unknown label; {why}); {hint}")
    if other.any():
        Y[other] = _numbers(cells, other, frame, names, source, hint)
    return Y, types


def _numbers(cells: np.ndarray, where: np.ndarray, frame: Frame, names: list[str], source: str,
             hint: str) -> np.ndarray:
    """The cells ``where`` as finite floats, in row-major order; the first that is not one raises."""
    try:
        values = cells[where].astype(np.float64)
        if np.isfinite(values).all():
            return values
    except ValueError:
        pass
    values = np.full(int(where.sum()), np.nan)  # find the first bad cell
    for k, (i, j) in enumerate(np.argwhere(where)):
        try:
            values[k] = float(cells[i, j])
        except ValueError:
            pass
        if not np.isfinite(values[k]):
            raise MetaLinkError(f"{source}, line {frame.lines[i]}, column {names[j]!r}: task value {cells[i, j]!r} "
                                f"is not a number (empty = unknown label; a task holds 0/1 labels or finite values); "
                                f"{hint}")
    return values
